import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../queue/redis-target';
import type { Logger } from 'pino';
import { failureCode } from '../metrics/labels';
import type { JobMetrics } from '../metrics/worker-metrics';
import type { BatchStore } from '../queue/batch-store';
import type { FileStore } from '../storage/file-store';
import { sendToDeadLetter, type DeadLetterQueue } from '../queue/dead-letter';
import { IMAGE_QUEUE, type ImageJobData, type ImageJobName, type ImageJobResult } from '../queue/jobs';
import type { ImageProcessor } from './processor';

export type ImageWorker = Worker<ImageJobData, ImageJobResult, ImageJobName>;
type ImageJob = Job<ImageJobData, ImageJobResult, ImageJobName>;

export interface WorkerDeps {
  readonly connection: RedisClient;
  readonly prefix: string;
  readonly processor: ImageProcessor;
  readonly deadLetters: DeadLetterQueue;
  readonly batches: BatchStore;
  readonly uploads: FileStore;
  readonly logger: Logger;
  readonly metrics: Pick<JobMetrics, 'jobFinished'>;
  readonly options: {
    readonly concurrency: number;
    readonly lockDurationMs: number;
    readonly stalledIntervalMs: number;
    readonly maxStalledCount: number;
  };
}

/** Finished for good: no attempt left, or an error that no attempt could fix. */
function isFinalFailure(job: ImageJob, err: Error): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * The image worker, plus what happens after a job: a completed job's upload is deleted, and a
 * job that failed for good is copied to the dead-letter queue and recorded in its batch.
 */
export function createImageWorker(deps: WorkerDeps): ImageWorker {
  const { logger } = deps;
  const worker: ImageWorker = new Worker(IMAGE_QUEUE, deps.processor, {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: deps.options.concurrency,
    // Short locks make a crashed worker's jobs come back within seconds rather than a minute.
    // Renewal runs on the event loop every lockDuration / 2, and Sharp works off the loop in
    // libuv threads, so a busy CPU does not starve it.
    lockDuration: deps.options.lockDurationMs,
    stalledInterval: deps.options.stalledIntervalMs,
    maxStalledCount: deps.options.maxStalledCount,
    autorun: false,
  });

  worker.on('completed', (job) => {
    deps.metrics.jobFinished('completed', '');
    // A URL job has no input file: its body was only ever in memory.
    const { inputFile } = job.data;
    if (inputFile === undefined) return;
    deps.uploads.remove(inputFile).catch((err: unknown) =>
      logger.warn({ err, jobId: job.id }, 'could not delete processed upload'),
    );
  });

  // The fast path. A failure whose worker died before this ran is caught by the dead-letter
  // reconciler. The error's cause holds the full (server-side) error; the reason is public.
  worker.on('failed', (job, err) => {
    if (!job) return;
    const log = logger.child({ jobId: job.id, batchId: job.data.batchId });
    const final = isFinalFailure(job, err);
    deps.metrics.jobFinished(final ? 'failed' : 'retrying', failureCode(err.message));
    if (!final) {
      log.warn({ attemptsMade: job.attemptsMade, err }, 'attempt failed; will retry');
      return;
    }
    sendToDeadLetter(deps, job).then(
      () => log.error({ attemptsMade: job.attemptsMade, reason: err.message }, 'job failed for good; dead-lettered'),
      (e: unknown) => log.error({ err: e }, 'could not dead-letter failed job; the reconciler will retry'),
    );
  });

  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled; back in the queue'));
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  return worker;
}
