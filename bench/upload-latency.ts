import type { Corpus } from './corpus';
import type { UploadItem } from './http-client';
import { startLoadMeter } from './proc-stats';
import { unfinishedJobs, waitForEmptyQueue } from './queue-state';
import type { Inspector } from './stack';
import { percentiles, type Percentiles } from './stats';
import { chunk, probeUploads, uploadAll } from './upload-driver';

export interface LatencyResult {
  readonly variant: string;
  readonly idle: Percentiles;
  readonly saturated: Percentiles;
  readonly p50Ratio: number;
  readonly p99Ratio: number;
  /** Images queued ahead of the probes when the worker started on them. */
  readonly backlog: number;
  readonly errors: number;
  readonly otherCores: number;
}

export interface LatencyDeps {
  readonly base: URL;
  readonly corpus: Corpus;
  readonly inspector: Inspector;
  readonly variant: string;
  readonly idleProbes: number;
  readonly maxProbes: number;
  /** How many times the corpus is queued to keep the worker saturated. */
  readonly backlogRepeat: number;
  readonly gapMs: number;
  readonly clients: number;
  readonly startWorker: () => Promise<unknown>;
  readonly stopWorker: () => Promise<unknown>;
  readonly pids: () => readonly number[];
}

/**
 * Single small uploads, one at a time, first with the worker idle, then while it works through
 * a backlog queued beforehand (so the probes compete with image processing, not with other
 * uploads).
 */
export async function measureUploadLatency(deps: LatencyDeps): Promise<LatencyResult> {
  const probe: UploadItem = { name: deps.corpus.probe.name, mime: deps.corpus.probe.mime, path: deps.corpus.probe.path };
  await deps.startWorker();
  await waitForEmptyQueue(deps.inspector, 120_000);
  const idle = await probeUploads(deps.base, probe, { gapMs: deps.gapMs, max: deps.idleProbes, keepGoing: () => true });
  await waitForEmptyQueue(deps.inspector, 60_000);

  await deps.stopWorker();
  const items = deps.corpus.files.map((f) => ({ name: f.name, mime: f.mime, path: f.path }));
  const backlogItems = Array.from({ length: deps.backlogRepeat }, () => items).flat();
  let backlog = 0;
  await uploadAll(deps.base, chunk(backlogItems, 10), deps.clients, (o) => (backlog += o.accepted?.files ?? 0));

  const meter = startLoadMeter(deps.pids);
  await deps.startWorker();
  // Saturated while the backlog lasts; the probes' own small jobs join the end of the queue.
  let saturated = true;
  const watch = setInterval(() => {
    void unfinishedJobs(deps.inspector).then((n) => (saturated = n > 2));
  }, 200);
  const busy = await probeUploads(deps.base, probe, { gapMs: deps.gapMs, max: deps.maxProbes, keepGoing: () => saturated });
  clearInterval(watch);
  const otherCores = meter.otherCores();
  await waitForEmptyQueue(deps.inspector, 300_000);

  const idleP = percentiles(idle.latencies);
  const busyP = percentiles(busy.latencies);
  return {
    variant: deps.variant,
    idle: idleP,
    saturated: busyP,
    p50Ratio: busyP.p50 / idleP.p50,
    p99Ratio: busyP.p99 / idleP.p99,
    backlog,
    errors: idle.errors + busy.errors,
    otherCores,
  };
}
