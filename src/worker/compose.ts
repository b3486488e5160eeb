import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { Config } from '../config';
import { createBatchStore } from '../queue/batch-store';
import { closeRedis, redisConnection } from '../queue/connection';
import type { DeadLetterQueue } from '../queue/dead-letter';
import { DEAD_LETTER_QUEUE, IMAGE_QUEUE, type ImageQueue } from '../queue/jobs';
import type { ShutdownStep } from '../shutdown';
import { closeWorker, countRunning } from './close-worker';
import { startDeadLetterReconciler } from './dead-letter-reconciler';
import { startFileRetention } from './file-retention';
import { createProcessor } from './processor';
import { superviseWorker, type SupervisedWorker } from './watchdog';
import { createImageWorker } from './worker';

export interface WorkerContext {
  readonly worker: SupervisedWorker;
  /** In order: finish active jobs, then the rest. */
  readonly closeSteps: readonly ShutdownStep[];
}

/** Opens the worker's connections and builds it from config; used by main.ts and by tests. */
export function composeWorker(config: Config, logger: Logger): WorkerContext {
  // One libvips thread per image and one image per core: measured faster than several threads
  // per image (see BENCHMARKS.md). The cache only helps when the same file is read twice.
  sharp.concurrency(config.worker.sharpThreads);
  sharp.cache(false);

  const { url, prefix } = config.redis;
  const redis = redisConnection(url, 'worker');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const batches = createBatchStore(redis, { prefix, ttlSeconds: config.jobs.retentionSeconds, pendingTtlSeconds: config.retention.uploadSeconds });
  const deadLetters: DeadLetterQueue = new Queue(DEAD_LETTER_QUEUE, { connection: redis, prefix });
  deadLetters.on('error', (err) => logger.debug({ err: err.message }, 'dead-letter queue error'));
  const processing = countRunning(
    createProcessor({ uploadDir: config.uploads.dir, processedDir: config.processedDir, batches, logger, maxInputPixels: config.uploads.maxInputPixels }),
  );
  const processor = processing.fn;
  const createWorker = () =>
    createImageWorker({ connection: redis, prefix, processor, deadLetters, batches, uploadDir: config.uploads.dir, logger, options: config.worker });
  const images: ImageQueue = new Queue(IMAGE_QUEUE, { connection: redis, prefix });
  images.on('error', (err) => logger.debug({ err: err.message }, 'image queue error'));
  const worker = superviseWorker(createWorker, () => images.getJobCounts('wait', 'active'), logger, { idleMs: config.worker.watchdogIdleMs });
  const reconciler = startDeadLetterReconciler({ queue: images, deadLetters, batches, logger }, config.worker.reconcileIntervalMs);
  const retention = startFileRetention(
    [
      { dir: config.processedDir, maxAgeSeconds: config.retention.processedSeconds },
      { dir: config.uploads.dir, maxAgeSeconds: config.retention.uploadSeconds },
    ],
    logger,
  );

  return {
    worker,
    closeSteps: [
      // Lets active jobs finish (the rest stay queued); with Redis down, only as long as one runs here.
      ['worker', () => closeWorker(worker.close, redis, processing.running)],
      ['file retention', retention.stop],
      ['dead-letter reconciler', reconciler.stop],
      ['queues', () => Promise.all([images.close(), deadLetters.close()])],
      ['redis', () => closeRedis(redis)],
    ],
  };
}
