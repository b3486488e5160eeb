import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Corpus } from './corpus';
import type { E2eClientConfig, E2eClientResult } from './e2e-client';
import { flushDirtyPages } from './page-cache';
import { readProc, startLoadMeter, type LoadMeter } from './proc-stats';
import type { Inspector } from './stack';
import type { Percentiles } from './stats';

export interface ProcessUsage {
  readonly name: string;
  readonly cpuS: number;
  readonly cpuMsPerImage: number;
  /** Peak resident memory over the life of the process (VmHWM). */
  readonly peakRssMB: number;
}

export interface EndToEndResult {
  readonly target: string;
  readonly sent: number;
  readonly accepted: number;
  readonly completed: number;
  readonly failed: number;
  readonly rejected: number;
  /** Accepted but neither completed nor failed at the end. */
  readonly lost: number;
  readonly httpStatuses: Readonly<Record<string, number>>;
  readonly errors: readonly string[];
  readonly timedOut: boolean;
  /** First byte sent → last file completed. */
  readonly wallS: number;
  /** How the end was timed: the worker's finishedOn in Redis, or the client's poll (± poll interval). */
  readonly endTimedBy: 'redis finishedOn' | 'client poll';
  /** First byte sent → last upload answered. */
  readonly ingestS: number;
  /** First byte sent → first job started: the pipeline's fill time (undefined without Redis access). */
  readonly firstJobAfterS?: number;
  /** First job started → last job finished, and the rate over that span. */
  readonly processingS?: number;
  readonly processingImagesPerS?: number;
  readonly imagesPerS: number;
  readonly inputMPPerS: number;
  readonly inputMBPerS: number;
  readonly uploadMs: Percentiles;
  readonly polls: number;
  readonly processes: readonly ProcessUsage[];
  readonly otherCores: number;
  readonly clients: number;
  readonly filesPerRequest: number;
  readonly pollMs: number;
  /** Mean of the Sharp limit (best setting) measured just before and just after: the same machine conditions. */
  adjacentLimitImagesPerS: number;
}

export interface EndToEndOptions {
  readonly base: URL;
  readonly corpus: Corpus;
  readonly clients: number;
  readonly filesPerRequest: number;
  readonly pollMs: number;
  readonly timeoutS: number;
  /** Local service processes to measure, by name. */
  readonly pids: Readonly<Record<string, number>>;
  /** Present for the private stack: exact completion times from Redis. */
  readonly inspector?: Inspector;
}

/** Runs the upload client in a process of its own; CPU of `pids` is read when it sends its first byte. */
export function runClient(config: E2eClientConfig, pids: Readonly<Record<string, number>>): Promise<{ result: E2eClientResult; cpuAtStart: Map<string, number>; meter: LoadMeter; clientPid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'e2e-client.ts'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const cpuAtStart = new Map<string, number>();
    let meter: LoadMeter | undefined;
    let result: E2eClientResult | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { event: 'start' } | { event: 'result'; result: E2eClientResult };
      if (message.event === 'start') {
        for (const [name, pid] of Object.entries(pids)) cpuAtStart.set(name, readProc(pid)?.cpuS ?? 0);
        meter = startLoadMeter(() => [...Object.values(pids), ...(child.pid ? [child.pid] : [])]);
      } else result = message.result;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || !result || !meter || !child.pid) return reject(new Error(`end-to-end client exited with ${code}`));
      resolve({ result, cpuAtStart, meter, clientPid: child.pid });
    });
  });
}

const clientConfig = (options: Omit<EndToEndOptions, 'pids' | 'inspector'>): E2eClientConfig => ({
  base: options.base.href,
  items: options.corpus.files.map((f) => ({ name: f.name, mime: f.mime, path: f.path })),
  filesPerRequest: options.filesPerRequest,
  clients: options.clients,
  pollMs: options.pollMs,
  timeoutS: options.timeoutS,
});

/**
 * The corpus once through, untimed, every batch followed to its end: what a service that has
 * run a while has behind it (its hot paths compiled, its connections and scripts loaded), as
 * the Sharp limit's own runs have.
 */
export async function warmUp(options: Omit<EndToEndOptions, 'pids' | 'inspector'>): Promise<void> {
  const { result } = await runClient(clientConfig(options), {});
  if (result.timedOut || result.completed + result.failed < result.accepted) throw new Error(`warm-up: ${result.completed + result.failed} of ${result.accepted} accepted files finished`);
  flushDirtyPages();
}

/** Uploads the whole corpus with concurrent clients and follows every batch to the end. */
export async function runEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const { corpus } = options;
  const { result, cpuAtStart, meter } = await runClient(clientConfig(options), options.pids);
  const otherCores = meter.otherCores();
  const services = Object.entries(options.pids).map(([name, pid]) => {
    const now = readProc(pid);
    return { name, cpuS: (now?.cpuS ?? 0) - (cpuAtStart.get(name) ?? 0), peakRssMB: now?.hwmMB ?? Number.NaN };
  });

  // NaN when no batch finished; it arrives as null through JSON.
  let endAt = Number.isFinite(result.lastDoneSeenAt) ? result.lastDoneSeenAt : Number.NaN;
  let endTimedBy: EndToEndResult['endTimedBy'] = 'client poll';
  let span: { firstJobAfterS: number; processingS: number; processingImagesPerS: number } | undefined;
  if (options.inspector) {
    const times = await options.inspector.jobTimes(result.jobIds);
    if (times.length) {
      endAt = Math.max(...times.map((t) => t.finishedOn));
      endTimedBy = 'redis finishedOn';
      const firstStart = Math.min(...times.map((t) => t.processedOn));
      span = { firstJobAfterS: (firstStart - result.firstByteAt) / 1000, processingS: (endAt - firstStart) / 1000, processingImagesPerS: (times.length * 1000) / (endAt - firstStart) };
    }
  }
  const wallS = (endAt - result.firstByteAt) / 1000;
  const done = result.completed;
  const fraction = result.sent ? done / result.sent : 0;
  const perImage = (cpuS: number) => (done ? (cpuS * 1000) / done : Number.NaN);
  return {
    target: options.inspector ? 'private stack' : options.base.href,
    sent: result.sent,
    accepted: result.accepted,
    completed: result.completed,
    failed: result.failed,
    rejected: result.rejected,
    lost: result.accepted - result.completed - result.failed,
    httpStatuses: result.httpStatuses,
    errors: result.errors,
    timedOut: result.timedOut,
    wallS,
    endTimedBy,
    ingestS: (result.lastUploadAt - result.firstByteAt) / 1000,
    ...span,
    imagesPerS: done / wallS,
    inputMPPerS: (corpus.megapixels * fraction) / wallS,
    inputMBPerS: (corpus.totalBytes / 1e6) * fraction / wallS,
    uploadMs: result.uploadMs,
    polls: result.polls,
    processes: [
      ...services.map((s) => ({ ...s, cpuMsPerImage: perImage(s.cpuS) })),
      { name: 'bench client', cpuS: result.cpuS, cpuMsPerImage: perImage(result.cpuS), peakRssMB: result.maxRssMB },
    ],
    otherCores,
    clients: options.clients,
    filesPerRequest: options.filesPerRequest,
    pollMs: options.pollMs,
    adjacentLimitImagesPerS: Number.NaN,
  };
}
