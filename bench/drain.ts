import type { Corpus } from './corpus';
import { flushDirtyPages } from './page-cache';
import type { ManagedProcess } from './process-group';
import { readProc, startLoadMeter } from './proc-stats';
import { unfinishedJobs } from './queue-state';
import type { Inspector } from './stack';
import { median, sleep } from './stats';
import { uploadCorpus } from './upload-driver';

export interface DrainResult {
  readonly label: string;
  readonly workerConcurrency: number;
  readonly images: number;
  readonly completed: number;
  readonly failed: number;
  /** First job taken → last job finished, from the worker's own timestamps in Redis. */
  readonly drainS: number;
  /** Worker process spawned → registered with the queue: Node start-up and connecting, paid once per process. */
  readonly startupS: number;
  readonly imagesPerS: number;
  readonly inputMPPerS: number;
  readonly cpuMsPerImage: Readonly<Record<'worker' | 'redis' | 'api', number>>;
  readonly workerPeakRssMB: number;
  readonly otherCores: number;
  /** The Sharp limit (best setting), the mean of a run just before this drain and one just after: all three saw the same machine. */
  readonly adjacentLimitImagesPerS: number;
}

/** Repeated drains of one worker configuration. */
export interface DrainSeries {
  readonly label: string;
  readonly workerConcurrency: number;
  readonly runs: readonly DrainResult[];
}

export interface DrainDeps {
  readonly base: URL;
  readonly corpus: Corpus;
  readonly inspector: Inspector;
  readonly clients: number;
  readonly label: string;
  readonly workerConcurrency: number;
  readonly startWorker: () => Promise<ManagedProcess>;
  readonly pids: { readonly api: number; readonly redis: number };
}

async function waitForDrained(inspector: Inspector): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await unfinishedJobs(inspector)) > 0) {
    if (Date.now() > deadline) throw new Error('drain did not finish within 10 minutes');
    await sleep(100);
  }
}

/**
 * Worker efficiency: a worker starts and processes the corpus once untimed (its hot paths
 * compiled, as a worker that has run a while has them, and as the limit's runs are: see
 * limit-child.ts); then, the queue paused, the corpus is uploaded again, so every job waits
 * with its file on disk and the API is idle; the queue resumes and the drain is timed from the
 * first job taken to the last one finished.
 */
export async function measureDrain(deps: DrainDeps): Promise<Omit<DrainResult, 'adjacentLimitImagesPerS'>> {
  const spawnedAt = Date.now();
  const worker = await deps.startWorker();
  const startupS = (Date.now() - spawnedAt) / 1000;
  await uploadCorpus(deps.base, deps.corpus, deps.clients);
  await waitForDrained(deps.inspector);

  await deps.inspector.queue.pause();
  const jobIds = await uploadCorpus(deps.base, deps.corpus, deps.clients);
  // The uploads are dirty pages still: written out now, not by the kernel during the drain.
  flushDirtyPages();
  const cpu0 = { api: readProc(deps.pids.api)?.cpuS ?? 0, redis: readProc(deps.pids.redis)?.cpuS ?? 0 };
  const workerCpu0 = readProc(worker.pid)?.cpuS ?? 0;
  await deps.inspector.queue.resume();
  const meter = startLoadMeter(() => [deps.pids.api, deps.pids.redis, worker.pid]);
  await waitForDrained(deps.inspector);
  const otherCores = meter.otherCores();
  const workerNow = readProc(worker.pid);
  const cpu = {
    worker: (workerNow?.cpuS ?? 0) - workerCpu0,
    api: (readProc(deps.pids.api)?.cpuS ?? 0) - cpu0.api,
    redis: (readProc(deps.pids.redis)?.cpuS ?? 0) - cpu0.redis,
  };
  const times = await deps.inspector.jobTimes(jobIds);
  const failed = times.filter((t) => t.failed).length;
  const first = Math.min(...times.map((t) => t.processedOn));
  const last = Math.max(...times.map((t) => t.finishedOn));
  const drainS = (last - first) / 1000;
  const perImage = (s: number) => (s * 1000) / jobIds.length;
  return {
    label: deps.label,
    workerConcurrency: deps.workerConcurrency,
    images: jobIds.length,
    completed: times.length - failed,
    failed,
    drainS,
    startupS,
    imagesPerS: times.length / drainS,
    inputMPPerS: deps.corpus.megapixels / drainS,
    cpuMsPerImage: { worker: perImage(cpu.worker), api: perImage(cpu.api), redis: perImage(cpu.redis) },
    workerPeakRssMB: workerNow?.hwmMB ?? Number.NaN,
    otherCores,
  };
}

export interface DrainSummary {
  readonly label: string;
  readonly workerConcurrency: number;
  readonly runs: number;
  readonly images: number;
  /** Summed over the runs. */
  readonly completed: number;
  readonly failed: number;
  /** Medians over the runs from here on. */
  readonly drainS: number;
  readonly imagesPerS: number;
  readonly imagesPerSMin: number;
  readonly imagesPerSMax: number;
  readonly inputMPPerS: number;
  readonly startupS: number;
  readonly cpuMsPerImage: Readonly<Record<'worker' | 'redis' | 'api', number>>;
  readonly workerPeakRssMB: number;
  readonly otherCores: number;
  readonly adjacentLimitImagesPerS: number;
  /** Median over the runs of drain ÷ the limit runs beside it. */
  readonly ratioToAdjacentLimit: number;
}

export function summarizeDrains(series: DrainSeries): DrainSummary {
  const { runs } = series;
  const med = (pick: (r: DrainResult) => number) => median(runs.map(pick));
  const ips = runs.map((r) => r.imagesPerS);
  return {
    label: series.label,
    workerConcurrency: series.workerConcurrency,
    runs: runs.length,
    images: runs[0]?.images ?? 0,
    completed: runs.reduce((s, r) => s + r.completed, 0),
    failed: runs.reduce((s, r) => s + r.failed, 0),
    drainS: med((r) => r.drainS),
    imagesPerS: median(ips),
    imagesPerSMin: Math.min(...ips),
    imagesPerSMax: Math.max(...ips),
    inputMPPerS: med((r) => r.inputMPPerS),
    startupS: med((r) => r.startupS),
    cpuMsPerImage: { worker: med((r) => r.cpuMsPerImage.worker), redis: med((r) => r.cpuMsPerImage.redis), api: med((r) => r.cpuMsPerImage.api) },
    workerPeakRssMB: Math.max(...runs.map((r) => r.workerPeakRssMB)),
    otherCores: med((r) => r.otherCores),
    adjacentLimitImagesPerS: med((r) => r.adjacentLimitImagesPerS),
    ratioToAdjacentLimit: med((r) => r.imagesPerS / r.adjacentLimitImagesPerS),
  };
}
