import type { Corpus } from './corpus';
import { runEndToEnd, type EndToEndResult } from './end-to-end';
import type { Inspector } from './stack';
import { median } from './stats';

/**
 * Issue 12's pipeline fill: would starting a file's job as soon as the file has arrived, before
 * the rest of its request, pay? Requests of one file do exactly that (each job is queued the
 * moment its file is in), at the price of a request per file; requests of ten are the service's
 * usual case. Alternated, so both see the same machine.
 */
export interface FillRow {
  readonly filesPerRequest: number;
  readonly wallS: number;
  readonly firstJobAfterS: number;
  readonly imagesPerS: number;
  readonly apiCpuMsPerImage: number;
}

export interface FillResult {
  readonly rows: readonly FillRow[];
  readonly reps: number;
}

export async function measurePipelineFill(options: { readonly base: URL; readonly corpus: Corpus; readonly clients: number; readonly pollMs: number; readonly reps: number; readonly pids: Readonly<Record<string, number>>; readonly inspector: Inspector }): Promise<FillResult> {
  const runs = new Map<number, EndToEndResult[]>([
    [1, []],
    [10, []],
  ]);
  for (let rep = 0; rep < options.reps; rep++) {
    for (const [filesPerRequest, list] of runs) {
      list.push(await runEndToEnd({ base: options.base, corpus: options.corpus, clients: options.clients, filesPerRequest, pollMs: options.pollMs, timeoutS: 600, pids: options.pids, inspector: options.inspector }));
    }
  }
  const rows = [...runs].map(([filesPerRequest, list]): FillRow => ({
    filesPerRequest,
    wallS: median(list.map((e) => e.wallS)),
    firstJobAfterS: median(list.map((e) => e.firstJobAfterS ?? Number.NaN)),
    imagesPerS: median(list.map((e) => e.imagesPerS)),
    apiCpuMsPerImage: median(list.map((e) => e.processes.find((p) => p.name === 'api')?.cpuMsPerImage ?? Number.NaN)),
  }));
  return { rows, reps: options.reps };
}
