import { readFile } from 'node:fs/promises';
import { startLoadMeter } from './proc-stats';

/** Mean cost of one image. */
export interface Cost {
  /** utime + stime of the whole process (libvips threads included) while the image was made. */
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** One way of making an image from its file's bytes; the encoded output is returned to be compared. */
export type Contender = (input: Buffer) => Promise<Buffer>;

export interface Alternation {
  /** In the order of the contenders. */
  readonly costs: readonly Cost[];
  /** Images for which every contender returned the same bytes. */
  readonly identical: number;
  /** Cores used by processes that are not the bench's meanwhile. */
  readonly otherCores: number;
}

/** Runs `work` alone and returns what it cost, with its result. */
export async function measure<T>(work: () => Promise<T>): Promise<Cost & { readonly result: T }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await work();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, result };
}

export const meanCost = (costs: readonly Cost[]): Cost => ({
  cpuMs: costs.reduce((sum, c) => sum + c.cpuMs, 0) / costs.length,
  wallMs: costs.reduce((sum, c) => sum + c.wallMs, 0) / costs.length,
});

/**
 * Every contender on every file, one image at a time, image by image, the order rotated so each
 * goes first as often as the others: whatever else the machine does hits all of them alike, and
 * their ratio is the figure to read. Each contender makes one untimed image first, so lazy
 * initialisation (a codec's first use, saliency tables) is not billed to the first file.
 */
export async function alternate(files: readonly string[], contenders: readonly Contender[]): Promise<Alternation> {
  const [first] = files;
  if (first === undefined) throw new Error('alternate: expected at least one file');
  const warmUp = await readFile(first);
  for (const contender of contenders) await contender(warmUp);

  const meter = startLoadMeter(() => []);
  const costs: Cost[][] = contenders.map(() => []);
  let identical = 0;
  for (const [i, file] of files.entries()) {
    const input = await readFile(file);
    const outputs: Buffer[] = [];
    for (let k = 0; k < contenders.length; k++) {
      const c = (i + k) % contenders.length;
      const { result, ...cost } = await measure(() => (contenders[c] as Contender)(input));
      costs[c]?.push(cost);
      outputs[c] = result;
    }
    if (outputs.every((o) => o.equals(outputs[0] as Buffer))) identical++;
  }
  return { costs: costs.map(meanCost), identical, otherCores: meter.otherCores() };
}
