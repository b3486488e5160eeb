import type { Logger } from 'pino';
import sharp from 'sharp';
import type { Config } from '../config';
import { openPorts } from '../core/ports';
import { directUploadFileKey } from '../queue/direct-upload-keys';
import { createGuardedClient } from '../net';
import { startWebhooks } from '../notify/start-webhooks';
import { createMetricsRegistry } from '../metrics/registry';
import { createWorkerMetrics, type WorkerMetrics } from '../metrics/worker-metrics';
import type { RedisClient } from '../queue/redis-target';
import type { ShutdownStep } from '../shutdown';
import { packageVersion } from '../version';
import { startBatchUpkeep } from './batch-upkeep';
import { closeWorker, countRunning } from './close-worker';
import { startDeadLetterReconciler } from './dead-letter-reconciler';
import { startFileRetention } from './file-retention';
import { startOrphanUploadSweep } from './orphan-uploads';
import { createProcessor } from './processor';
import { createKeyedSemaphore, createSemaphore } from './semaphore';
import { superviseWorker, type SupervisedWorker } from './watchdog';
import { createImageWorker } from './worker';

export interface WorkerContext {
  readonly worker: SupervisedWorker;
  /** The connection the worker's commands go through; main.ts watches it for a lasting outage. */
  readonly redis: RedisClient;
  /** What the worker's metrics endpoint serves (main.ts starts it, at WORKER_METRICS_PORT). */
  readonly metrics: WorkerMetrics;
  /** In order: finish active jobs, then the rest. */
  readonly closeSteps: readonly ShutdownStep[];
}

/** Opens the worker's connections and builds it from config; used by main.ts and by tests. */
export function composeWorker(config: Config, logger: Logger): WorkerContext {
  // One libvips thread per image and one image per core: measured faster than several threads
  // per image (see BENCHMARKS.md). The cache only helps when the same file is read twice.
  sharp.concurrency(config.worker.sharpThreads);
  sharp.cache(false);

  const ports = openPorts(config, logger, 'worker');
  const { redis, batches, batchIndex, deadLetters, files, queue: images, webhooks } = ports;
  const { prefix } = config.redis;
  // URL jobs download before they transform: the worker takes FETCH_CONCURRENCY jobs more than
  // it has Sharp slots, and the transforms semaphore keeps Sharp to WORKER_CONCURRENCY, so a
  // download waiting on the network never holds a Sharp slot. An upload waits for a slot only
  // when every one is busy, as it would have waited in the queue.
  const fetchClient = createGuardedClient({ allowPrivate: config.outbound.allowPrivate, connectTimeoutMs: config.fetch.connectTimeoutMs });
  const fetch = {
    client: fetchClient,
    limits: {
      maxBytes: config.uploads.maxFileSizeBytes,
      maxInputPixels: config.uploads.maxInputPixels,
      timeoutMs: config.fetch.timeoutMs,
      maxRedirects: config.fetch.maxRedirects,
      allowSvg: config.uploads.allowSvg,
      userAgent: `imgflow/${packageVersion()}`,
    },
    slots: createSemaphore(config.fetch.concurrency),
    perHost: createKeyedSemaphore(config.fetch.perHost),
  };
  const transforms = createSemaphore(config.worker.concurrency);
  const metrics = createWorkerMetrics(createMetricsRegistry(), () => sharp.counters());
  const processing = countRunning(createProcessor({ files, batches, logger, maxInputPixels: config.uploads.maxInputPixels, maxOutputPixels: config.transform.maxOutputPixels, transforms, fetch, metrics, storageBackoffMs: config.jobs.backoffMs, progressAfterMs: config.worker.progressAfterMs }));
  const processor = processing.fn;
  const options = { ...config.worker, concurrency: config.worker.concurrency + config.fetch.concurrency };
  const createWorker = () =>
    createImageWorker({ connection: redis, prefix, processor, deadLetters, batches, uploads: files.uploads, logger, metrics, options });
  // Every job has a priority (queue/jobs.ts), so jobs ready to run wait in 'prioritized', not 'wait'.
  const readyAndActive = async () => {
    const { wait = 0, prioritized = 0, active = 0 } = await images.getJobCounts('wait', 'prioritized', 'active');
    return { wait: wait + prioritized, active };
  };
  const worker = superviseWorker(createWorker, readyAndActive, logger, { idleMs: config.worker.watchdogIdleMs });
  const reconciler = startDeadLetterReconciler({ queue: images, deadLetters, batches, logger }, config.worker.reconcileIntervalMs);
  const upkeep = startBatchUpkeep({ redis, prefix, batchIndex, logger }, config.worker.reconcileIntervalMs);
  const retention = startFileRetention(
    [
      { store: files.outputs, maxAgeSeconds: config.retention.processedSeconds },
      { store: files.uploads, maxAgeSeconds: config.retention.uploadSeconds },
    ],
    logger,
  );
  const orphans = startOrphanUploadSweep({ store: files.uploads, graceMs: config.retention.orphanGraceMs, redis, queues: [images, deadLetters, { toKey: (id) => directUploadFileKey(prefix, id) }], completedKey: images.toKey('completed') }, logger, config.retention.orphanSweepIntervalMs);

  const webhookSteps = startWebhooks(config, { redis, queue: images, batches, webhooks }, logger);

  return {
    worker,
    redis,
    metrics,
    closeSteps: [
      // Lets active jobs finish (the rest stay queued); with Redis down, only as long as one runs here.
      ['worker', () => closeWorker(worker.close, redis, processing.running)],
      ['file retention', retention.stop],
      ['orphan upload sweep', orphans.stop],
      ['dead-letter reconciler', reconciler.stop],
      ['batch upkeep', upkeep.stop],
      ...webhookSteps,
      ['url downloads', () => fetchClient.close()],
      ...ports.closeSteps,
    ],
  };
}
