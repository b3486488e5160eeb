import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Corpus } from './corpus';
import type { LimitRunConfig, LimitRunResult } from './limit-child';
import { startLoadMeter } from './proc-stats';
import { median } from './stats';

export interface LimitSetting {
  readonly label: string;
  readonly threads: number;
  readonly inFlight: number;
  readonly cache: boolean;
  readonly variant: LimitRunConfig['variant'];
}

export interface LimitRow extends LimitSetting {
  readonly runs: number;
  /** Medians over the runs. */
  readonly imagesPerS: number;
  readonly imagesPerSMin: number;
  readonly imagesPerSMax: number;
  readonly inputMBPerS: number;
  readonly inputMPPerS: number;
  readonly cpuMsPerImage: number;
  readonly maxRssMB: number;
  readonly errors: number;
  /** Mean ms per image by input format (median over runs). */
  readonly msByFormat: Readonly<Record<string, number>>;
  /** Cores used by other processes on the machine during the runs (median). */
  readonly otherCores: number;
}

export interface GrayscaleComparison {
  /** Mean absolute difference per pixel between the two outputs, in levels of 255. */
  readonly meanPixelDiff: number;
  readonly pipelineChannels: number;
  readonly grayscaleChannels: number;
  readonly pipelineBytes: number;
  readonly grayscaleBytes: number;
}

const setting = (threads: number, inFlight: number, extra: Partial<LimitSetting> = {}): LimitSetting => ({
  label: `threads ${threads}, ${inFlight} in flight${extra.cache ? ', cache on' : ''}${extra.variant === 'grayscale' ? ', grayscale()' : ''}`,
  threads,
  inFlight,
  cache: false,
  variant: 'pipeline',
  ...extra,
});

/** The settings tried for the limit; the side rows are reported but never chosen as the limit. */
export function limitSettings(full: boolean): { candidates: LimitSetting[]; side: LimitSetting[] } {
  const candidates = [setting(1, 1), setting(1, 2), setting(1, 3), setting(1, 4), setting(2, 2)];
  const side = [setting(1, 2, { variant: 'grayscale' }), ...(full ? [setting(1, 2, { cache: true })] : [])];
  return { candidates, side };
}

export function runChild(config: LimitRunConfig): Promise<{ result: LimitRunResult; otherCores: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'limit-child.ts'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const meter = startLoadMeter(() => (child.pid ? [child.pid] : []));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const otherCores = meter.otherCores();
      const line = stdout.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`limit run exited with ${code}: ${stderr.slice(-500)}`));
      resolve({ result: JSON.parse(line) as LimitRunResult, otherCores });
    });
  });
}

function summarizeRuns(s: LimitSetting, corpus: Corpus, runs: readonly { result: LimitRunResult; otherCores: number }[]): LimitRow {
  const ips = runs.map((r) => r.result.images / r.result.wallS);
  const med = (f: (r: LimitRunResult) => number) => median(runs.map((r) => f(r.result)));
  return {
    ...s,
    runs: runs.length,
    imagesPerS: median(ips),
    imagesPerSMin: Math.min(...ips),
    imagesPerSMax: Math.max(...ips),
    inputMBPerS: med((r) => corpus.totalBytes / 1e6 / r.wallS),
    inputMPPerS: med((r) => corpus.megapixels / r.wallS),
    cpuMsPerImage: med((r) => (r.cpuS * 1000) / r.images),
    maxRssMB: med((r) => r.maxRssMB),
    errors: Math.max(...runs.map((r) => r.result.errors)),
    msByFormat: Object.fromEntries(Object.keys(runs[0]?.result.msByFormat ?? {}).map((k) => [k, med((r) => r.msByFormat[k] ?? Number.NaN)])),
    otherCores: median(runs.map((r) => r.otherCores)),
  };
}

/**
 * Runs every setting `reps` times, each run a fresh child process over the whole corpus, disk
 * to disk. Repetitions are interleaved across settings so slow drift (a neighbour's test run)
 * spreads over all of them instead of landing on one.
 */
export async function measureLimit(corpus: Corpus, settings: readonly LimitSetting[], reps: number, outRoot: string, log: (line: string) => void): Promise<LimitRow[]> {
  const runs = new Map<LimitSetting, { result: LimitRunResult; otherCores: number }[]>(settings.map((s) => [s, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const s of settings) {
      const run = await runChild({ inputs: corpus.files.map((f) => f.path), outDir: outputDirOf(outRoot, s), threads: s.threads, inFlight: s.inFlight, cache: s.cache, variant: s.variant, keepOutputs: rep === reps - 1 });
      runs.get(s)?.push(run);
      log(`limit ${s.label} rep ${rep + 1}/${reps}: ${(run.result.images / run.result.wallS).toFixed(2)} img/s, other load ${run.otherCores.toFixed(2)} cores`);
    }
  }
  return settings.map((s) => summarizeRuns(s, corpus, runs.get(s) ?? []));
}

export function outputDirOf(outRoot: string, s: LimitSetting): string {
  return path.join(outRoot, `${s.variant}-t${s.threads}-p${s.inFlight}${s.cache ? '-cache' : ''}`);
}

/** Compares the outputs of two limit runs over the same corpus, file by file. */
export async function compareOutputs(pipelineDir: string, grayscaleDir: string): Promise<GrayscaleComparison> {
  let diffSum = 0;
  let pixels = 0;
  let pipelineBytes = 0;
  let grayscaleBytes = 0;
  let pipelineChannels = 0;
  let grayscaleChannels = 0;
  for (const name of readdirSync(pipelineDir)) {
    const [pathA, pathB] = [path.join(pipelineDir, name), path.join(grayscaleDir, name)];
    const a = sharp(pathA);
    const b = sharp(pathB);
    const [ma, mb] = await Promise.all([a.metadata(), b.metadata()]);
    pipelineChannels = ma.channels;
    grayscaleChannels = mb.channels;
    pipelineBytes += statSync(pathA).size;
    grayscaleBytes += statSync(pathB).size;
    // Both decoded to one grey channel: grayscale() writes three identical ones.
    const [ra, rb] = await Promise.all([a.extractChannel(0).raw().toBuffer(), b.extractChannel(0).raw().toBuffer()]);
    for (let i = 0; i < ra.length && i < rb.length; i++) diffSum += Math.abs((ra[i] as number) - (rb[i] as number));
    pixels += Math.min(ra.length, rb.length);
  }
  rmSync(grayscaleDir, { recursive: true, force: true });
  return { meanPixelDiff: pixels ? diffSum / pixels : Number.NaN, pipelineChannels, grayscaleChannels, pipelineBytes, grayscaleBytes };
}
