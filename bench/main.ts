// `npm run bench`: how close imgflow gets to the machine's limit. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { measureAutoQuality } from './auto-quality';
import { ensureCorpus, type Corpus } from './corpus';
import { measureDecodeMemory } from './decode-memory';
import { runEndToEnd } from './end-to-end';
import { compareOutputs, limitSettings, measureLimit, outputDirOf } from './limit';
import { closeConnections } from './http-client';
import { describeMachine } from './machine';
import { LOCAL_PHASES, parseBenchOptions, USAGE, type BenchOptions, type Phase } from './options';
import { measurePresets } from './presets';
import { createProcessGroup } from './process-group';
import { renderReport } from './report';
import type { BenchResults, CorpusSummary } from './results';
import { runStackPhases } from './stack-phases';
import { measureStorageCost } from './storage-cost';

const REPO = path.resolve(__dirname, '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * dist/ is current when it holds both processes and was built after the last change to src/;
 * rebuilding a current dist would only disturb other users of it. (The page's own build, which
 * its browser test runs, writes dist/web alone: a fresh dist/ need not hold the processes.)
 */
function distIsCurrent(): boolean {
  try {
    const built = ['api/main.js', 'worker/main.js'].every((entry) => existsSync(path.join(REPO, 'dist', entry)));
    return built && newestMtime(path.join(REPO, 'dist')) >= newestMtime(path.join(REPO, 'src'));
  } catch {
    return false;
  }
}

function summarizeCorpus(corpus: Corpus): CorpusSummary {
  const byFormat: Record<string, number> = {};
  for (const file of corpus.files) byFormat[file.format] = (byFormat[file.format] ?? 0) + 1;
  return {
    files: corpus.files.length,
    byFormat,
    totalMB: corpus.totalBytes / 1e6,
    megapixels: corpus.megapixels,
    largestBytes: Math.max(...corpus.files.map((f) => f.bytes)),
    maxBytes: corpus.spec.maxBytes,
    orientation6: corpus.files.filter((f) => f.orientation === 6).length,
    rgba: corpus.files.filter((f) => f.channels === 4).length,
    digest: corpus.digest,
    generatedSeconds: corpus.generatedSeconds,
    seed: corpus.spec.seed,
    scale: corpus.spec.scale,
  };
}

async function runLimit(options: BenchOptions, corpus: Corpus, results: BenchResults, outRoot: string, log: (line: string) => void): Promise<void> {
  const { candidates, side } = limitSettings(!options.quick);
  const rows = await measureLimit(corpus, [...candidates, ...side], options.reps, outRoot, log);
  const main = rows.slice(0, candidates.length);
  const best = main.reduce((a, b) => (b.imagesPerS > a.imagesPerS ? b : a));
  const bw = candidates.find((s) => s.threads === 1 && s.inFlight === 2);
  const grey = side.find((s) => s.variant === 'grayscale');
  results.limit = {
    rows: main,
    best,
    side: rows.slice(candidates.length),
    ...(bw && grey ? { grayscale: await compareOutputs(outputDirOf(outRoot, bw), outputDirOf(outRoot, grey)) } : {}),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const runDir = path.join(REPO, 'bench/.runs', new Date().toISOString().replace(/[:.]/g, '-'));
  const options = parseBenchOptions(process.argv.slice(2), REPO, runDir);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  mkdirSync(runDir, { recursive: true });
  const dataRoot = mkdtempSync(path.join(tmpdir(), 'imgflow-bench-'));
  const group = createProcessGroup();
  process.on('exit', () => group.killAllNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      group.killAllNow();
      rmSync(dataRoot, { recursive: true, force: true });
      process.exit(130);
    });
  }
  const log = (line: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

  const results: BenchResults = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    date: new Date().toISOString(),
    quick: options.quick,
    durationS: 0,
    machine: describeMachine(),
    loadBefore: loadavg(),
    loadAfter: [],
    notes: [],
    failures: [],
  };
  const phase = async (name: Phase, run: () => Promise<void>) => {
    if (!options.phases.has(name)) return;
    log(`phase ${name}`);
    try {
      await run();
    } catch (err) {
      log(`phase ${name} failed: ${err instanceof Error ? err.stack : String(err)}`);
      results.failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  try {
    log(`corpus ${JSON.stringify(options.corpus)}`);
    const corpus = await ensureCorpus(options.corpus, path.join(REPO, 'bench/.corpus'), (line) => log(`  generated ${line}`));
    results.corpus = summarizeCorpus(corpus);
    log(`corpus: ${corpus.files.length} files, ${(corpus.totalBytes / 1e6).toFixed(1)} MB, ${corpus.generatedSeconds ? 'generated' : 'cached'} in ${corpus.dir}`);

    await phase('limit', () => runLimit(options, corpus, results, path.join(dataRoot, 'limit'), log));
    await phase('memory', async () => {
      results.decodeMemory = await measureDecodeMemory(path.join(dataRoot, 'memory'), !options.quick, log);
    });
    await phase('auto-quality', async () => {
      results.autoQuality = await measureAutoQuality(corpus, { avifEvery: options.avifEvery, realPhotos: options.quick ? 2 : Number.POSITIVE_INFINITY }, log);
    });
    await phase('presets', async () => {
      const quick = options.quick;
      results.presets = await measurePresets(corpus, { maxImages: quick ? 4 : Number.POSITIVE_INFINITY, avifEvery: options.avifEvery, realPhotos: quick ? 2 : Number.POSITIVE_INFINITY, defaultPasses: quick ? 1 : 3 }, log);
    });
    // Other processes on the machine come and go: a limit run right next to a measurement sees
    // the same conditions, so the ratio of the two is steadier than one against the table above.
    const adjacentLimit = async () => {
      const best = results.limit?.best;
      if (!best) return Number.NaN;
      const [row] = await measureLimit(corpus, [best], 1, path.join(dataRoot, 'limit-adjacent'), (line) => log(line.replace('limit', 'adjacent limit')));
      return row?.imagesPerS ?? Number.NaN;
    };

    if (options.base) {
      const base = options.base;
      results.notes.push(`End to end against ${base.href}; the phases that need a private stack were skipped.`);
      await phase('e2e', async () => {
        const before = await adjacentLimit();
        const e2e = await runEndToEnd({ base, corpus, clients: options.clients, filesPerRequest: 10, pollMs: options.pollMs, timeoutS: 600, pids: options.pids });
        e2e.adjacentLimitImagesPerS = (before + (await adjacentLimit())) / 2;
        results.e2e = e2e;
      });
    } else if ([...options.phases].some((p) => !LOCAL_PHASES.includes(p))) {
      if (options.build && !distIsCurrent()) {
        log('npm run build (dist/ is older than src/)');
        execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      }
      // The storage phase brings its own Redis and S3 server.
      if ([...options.phases].some((p) => !LOCAL_PHASES.includes(p) && p !== 'storage')) {
        await runStackPhases({ options, corpus, group, dataRoot, logRoot: runDir, results, log, phase, adjacentLimit });
      }
      await phase('storage', async () => {
        results.storage = await measureStorageCost({ group, images: options.quick ? 10 : 40, warmUpImages: options.quick ? 10 : 100, warmImages: options.quick ? 20 : 300, rounds: options.quick ? 1 : options.reps, log });
      });
    }
  } finally {
    closeConnections();
    await group.stopAll();
    rmSync(dataRoot, { recursive: true, force: true });
  }

  results.loadAfter = loadavg();
  results.durationS = (performance.now() - started) / 1000;
  const report = renderReport(results);
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${report}\n`);
  mkdirSync(path.dirname(options.json), { recursive: true });
  writeFileSync(options.json, JSON.stringify(results, null, 2));
  process.stdout.write(`${report}\n`);
  log(`report written to ${options.out}; figures in ${options.json}`);
  if (results.failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
