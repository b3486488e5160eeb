import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_SPEC, decodeBudgetBytes, maxPixelsToDecode } from '../src/pipeline';
import { webpWithPatchedCanvas } from '../test/fixtures/hostile-files';
import { fixtures } from '../test/fixtures/images';
import { pngBomb } from '../test/fixtures/png-bomb';
import { runChild } from './limit';

export interface DecodeMemoryRow {
  readonly input: string;
  readonly inFlight: number;
  readonly refused: number;
  readonly baselineRssMB: number;
  readonly peakRssMB: number;
  /** (peak − baseline) / in flight. */
  readonly perJobMB: number;
  readonly budgetPerJobMB: number;
}

const side = (pixels: number) => Math.floor(Math.sqrt(pixels));

/** The costliest inputs the budget accepts, each right at its shape's limit, plus issue 15's refused bomb. */
async function worstInputs(dir: string, full: boolean): Promise<{ label: string; file: string }[]> {
  const max = DEFAULT_SPEC.maxInputPixels;
  const buffered = side(maxPixelsToDecode('buffered', max));
  const whole = side(maxPixelsToDecode('whole', max));
  const animated = readFileSync(fixtures.animatedWebp);
  const flat = (s: number) => sharp({ create: { width: s, height: s, channels: 3, background: '#884422' } });
  const make: [string, string, () => Promise<Buffer> | Buffer][] = [
    ['animated WebP, canvas patched to 10000x9999 (issue 15)', 'issue15.webp', () => webpWithPatchedCanvas(animated, 10_000, 9_999)],
    [`animated WebP, canvas ${buffered}x${buffered}`, 'canvas.webp', () => webpWithPatchedCanvas(animated, buffered, buffered)],
    ['PNG bomb 10000x9999 (streamed)', 'bomb.png', () => pngBomb(10_000, 9_999)],
    ...(full
      ? ([
          [`progressive 4:4:4 JPEG ${buffered}x${buffered}`, 'progressive.jpg', () => flat(buffered).jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer()],
          [`AVIF ${whole}x${whole}`, 'whole.avif', () => flat(whole).avif({ effort: 0 }).toBuffer()],
        ] as [string, string, () => Promise<Buffer>][])
      : []),
  ];
  mkdirSync(dir, { recursive: true });
  const out = [];
  for (const [label, name, build] of make) {
    const file = path.join(dir, name);
    writeFileSync(file, await build());
    out.push({ label, file });
  }
  return out;
}

/**
 * Issue 15 item 2: the worker's peak over the worst accepted inputs, `inFlight` copies at once in
 * one fresh process (the worker's default concurrency), against its own RSS before the first.
 */
export async function measureDecodeMemory(outRoot: string, full: boolean, log: (line: string) => void): Promise<DecodeMemoryRow[]> {
  const inFlight = 2 * availableParallelism(); // WORKER_CONCURRENCY's default
  const rows: DecodeMemoryRow[] = [];
  for (const { label, file } of await worstInputs(path.join(outRoot, 'inputs'), full)) {
    const inputs = Array.from({ length: inFlight }, (_, i) => {
      const copy = path.join(outRoot, 'inputs', `${i}-${path.basename(file)}`);
      writeFileSync(copy, readFileSync(file));
      return copy;
    });
    const { result } = await runChild({ inputs, outDir: path.join(outRoot, 'out'), threads: 1, inFlight, cache: false, variant: 'pipeline', keepOutputs: false });
    const row = {
      input: label,
      inFlight,
      refused: result.errors,
      baselineRssMB: result.baselineRssMB,
      peakRssMB: result.maxRssMB,
      perJobMB: (result.maxRssMB - result.baselineRssMB) / inFlight,
      budgetPerJobMB: decodeBudgetBytes(DEFAULT_SPEC.maxInputPixels) / 1e6,
    };
    log(`decode memory ${label}: peak ${row.peakRssMB.toFixed(0)} MB, baseline ${row.baselineRssMB.toFixed(0)} MB (${(row.peakRssMB / row.baselineRssMB).toFixed(2)}x), ${row.refused}/${inFlight} refused`);
    rows.push(row);
  }
  return rows;
}
