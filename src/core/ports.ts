import { Queue } from 'bullmq';
import type { RedisClient } from '../queue/redis-target';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { createBatchIndex, type BatchIndex } from '../queue/batch-index';
import { createBatchStore, type BatchStore } from '../queue/batch-store';
import { closeRedis, redisConnection, type ConnectionRole } from '../queue/connection';
import type { DeadLetterQueue } from '../queue/dead-letter';
import { DEAD_LETTER_QUEUE, IMAGE_QUEUE, type ImageQueue } from '../queue/jobs';
import { WEBHOOK_QUEUE, type WebhookQueue } from '../queue/webhook-jobs';
import type { ShutdownStep } from '../shutdown';
import { openFileStores, type FileStores } from '../storage/open-file-stores';

/** What every process works through: the queues, the batch store and the connection under them. */
export interface Ports {
  /** Shared by the queues and the batch store; its role decides whether commands fail fast or wait. */
  readonly redis: RedisClient;
  readonly queue: ImageQueue;
  readonly deadLetters: DeadLetterQueue;
  /** Webhook deliveries: the worker relays and sends them, the operator routes list and replay them. */
  readonly webhooks: WebhookQueue;
  readonly batches: BatchStore;
  /** Each owner's batches by creation time, for GET /batches. */
  readonly batchIndex: BatchIndex;
  /** Where uploads and outputs are kept: the local disk or a bucket (STORAGE_DRIVER), behind one interface. */
  readonly files: Omit<FileStores, 'close'>;
  /** In order: the queues, then the connection. A process closes what it built on top first. */
  readonly closeSteps: readonly ShutdownStep[];
}

/**
 * Opens the ports from config, the one place the queues and the batch store are wired.
 * `producer` fails fast while Redis is down (the API answers 503 at once); `worker` waits it out.
 */
export function openPorts(config: Config, logger: Logger, role: ConnectionRole): Ports {
  const { target, prefix } = config.redis;
  const redis = redisConnection(target, role);
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queue: ImageQueue = new Queue(IMAGE_QUEUE, { connection: redis, prefix });
  const deadLetters: DeadLetterQueue = new Queue(DEAD_LETTER_QUEUE, { connection: redis, prefix });
  const webhooks: WebhookQueue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix });
  for (const q of [queue, deadLetters, webhooks]) q.on('error', (err) => logger.debug({ err: err.message, queue: q.name }, 'queue error'));
  const batches = createBatchStore(redis, { prefix, ttlSeconds: config.jobs.retentionSeconds, pendingTtlSeconds: config.retention.uploadSeconds });
  const { close: closeFiles, ...files } = openFileStores(config);
  return {
    redis,
    queue,
    deadLetters,
    webhooks,
    batches,
    batchIndex: createBatchIndex(redis, prefix),
    files,
    closeSteps: [
      ['queues', () => Promise.all([queue.close(), deadLetters.close(), webhooks.close()])],
      ['redis', () => closeRedis(redis)],
      ['storage', closeFiles],
    ],
  };
}
