import { randomUUID } from 'node:crypto';
import { copyFileSync, linkSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { DEFAULT_SPEC } from '../src/pipeline';
import { createBatchStore } from '../src/queue/batch-store';
import { enqueueBatch, type UploadedImage } from '../src/queue/enqueue-batch';
import type { Corpus } from './corpus';
import type { ManagedProcess } from './process-group';
import { readProc, startLoadMeter } from './proc-stats';
import type { Inspector, ServiceWorld } from './stack';
import { mean, sleep } from './stats';

export interface LongRunResult {
  readonly label: string;
  readonly images: number;
  readonly completed: number;
  readonly failed: number;
  readonly imagesPerS: number;
  /** Mean worker RSS while the first 100 images were processed (includes warm-up). */
  readonly firstHundredRssMB: number;
  readonly lastHundredRssMB: number;
  readonly growthPct: number;
  /** Mean RSS per hundred images finished: the shape of the curve, warm-up included. */
  readonly rssByHundredMB: readonly number[];
  /** Last hundred against the second: growth once warm-up (the first hundred) is over. */
  readonly growthAfterWarmupPct: number;
  readonly peakRssMB: number;
  readonly otherCores: number;
}

/** Puts the file in the upload directory the way multer would, under a fresh name; a hard link when possible, since the worker deletes it after. */
function stage(uploadDir: string, source: string): string {
  const storedName = randomUUID();
  try {
    linkSync(source, path.join(uploadDir, storedName));
  } catch {
    copyFileSync(source, path.join(uploadDir, storedName));
  }
  return storedName;
}

/**
 * `images` jobs (the corpus over and over) queued straight into Redis through the project's own
 * enqueueBatch, with their files staged on disk, then one worker drains them while its RSS is
 * sampled against the number of images finished. The API is not involved: this is about the
 * worker's memory over time.
 */
export async function measureLongRun(deps: { corpus: Corpus; world: ServiceWorld; inspector: Inspector; images: number; label: string; startWorker: () => Promise<ManagedProcess> }): Promise<LongRunResult> {
  const { corpus, world, inspector } = deps;
  const policy = loadConfig({}).jobs;
  const batches = createBatchStore(inspector.redis, { prefix: world.prefix, ttlSeconds: policy.retentionSeconds });
  await inspector.queue.waitUntilReady();
  const staged: UploadedImage[] = Array.from({ length: deps.images }, (_, i) => {
    const file = corpus.files[i % corpus.files.length] as Corpus['files'][number];
    return { originalName: file.name, storedName: stage(world.uploadDir, file.path), size: file.bytes, type: file.format };
  });
  const jobIds: string[] = [];
  for (let i = 0; i < staged.length; i += 10) {
    const { files } = await enqueueBatch({ queue: inspector.queue, redis: inspector.redis, batches, policy }, staged.slice(i, i + 10), DEFAULT_SPEC);
    jobIds.push(...files.map((f) => f.jobId));
  }

  const worker = await deps.startWorker();
  const meter = startLoadMeter(() => [worker.pid]);
  const samples: { finished: number; rssMB: number }[] = [];
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const counts = await inspector.queue.getJobCounts('completed', 'failed');
    const finished = (counts.completed ?? 0) + (counts.failed ?? 0);
    const rss = readProc(worker.pid)?.rssMB;
    if (rss !== undefined && finished < deps.images) samples.push({ finished, rssMB: rss });
    if (finished >= deps.images || Date.now() > deadline) break;
    await sleep(200);
  }
  const otherCores = meter.otherCores();
  const peakRssMB = readProc(worker.pid)?.hwmMB ?? Number.NaN;
  const times = await inspector.jobTimes(jobIds);
  const failed = times.filter((t) => t.failed).length;
  const hundreds = Array.from({ length: Math.ceil(deps.images / 100) }, (_, h) => mean(samples.filter((s) => Math.floor(s.finished / 100) === h).map((s) => s.rssMB)));
  const first = hundreds[0] ?? Number.NaN;
  const second = hundreds[1] ?? Number.NaN;
  const last = mean(samples.filter((s) => s.finished >= deps.images - 100).map((s) => s.rssMB));
  const spanS = (Math.max(...times.map((t) => t.finishedOn)) - Math.min(...times.map((t) => t.processedOn))) / 1000;
  return {
    label: deps.label,
    images: deps.images,
    completed: times.length - failed,
    failed,
    imagesPerS: times.length / spanS,
    firstHundredRssMB: first,
    lastHundredRssMB: last,
    growthPct: ((last - first) / first) * 100,
    rssByHundredMB: hundreds,
    growthAfterWarmupPct: ((last - second) / second) * 100,
    peakRssMB,
    otherCores,
  };
}
