import { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { DEFAULT_SPEC } from '../pipeline';
import { createBatchStore } from '../queue/batch-store';
import { closeRedis, redisConnection } from '../queue/connection';
import type { DeadLetterQueue } from '../queue/dead-letter';
import { DEAD_LETTER_QUEUE, IMAGE_QUEUE, type ImageQueue } from '../queue/jobs';
import type { ShutdownStep } from '../shutdown';
import { adminAccess } from './admin-auth';
import { createApp } from './app';
import { InFlight } from './in-flight';
import type { AppDeps } from './deps';
import { watchQueueEvents } from './queue-events';

export interface ApiContext {
  readonly app: Express;
  readonly deps: AppDeps;
  /** In order: uploads in flight, event subscription, queues, connections. The caller closes HTTP first. */
  readonly closeSteps: readonly ShutdownStep[];
}

/** Opens the API's connections and builds the app from config; used by main.ts and by tests. */
export function composeApi(config: Config, logger: Logger): ApiContext {
  const { url, prefix } = config.redis;
  const redis = redisConnection(url, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const eventsRedis = redisConnection(url, 'worker');
  eventsRedis.on('error', () => undefined); // the producer connection above already reports outages

  const queue: ImageQueue = new Queue(IMAGE_QUEUE, { connection: redis, prefix });
  const deadLetters: DeadLetterQueue = new Queue(DEAD_LETTER_QUEUE, { connection: redis, prefix });
  for (const q of [queue, deadLetters]) q.on('error', (err) => logger.debug({ err: err.message }, 'queue error'));
  const events = watchQueueEvents(eventsRedis, prefix, logger);

  const deps: AppDeps = {
    logger,
    redis,
    queue,
    deadLetters,
    batches: createBatchStore(redis, { prefix, ttlSeconds: config.jobs.retentionSeconds, pendingTtlSeconds: config.retention.uploadSeconds }),
    policy: config.jobs,
    spec: { ...DEFAULT_SPEC, maxInputPixels: config.uploads.maxInputPixels },
    uploads: config.uploads,
    processedDir: config.processedDir,
    corsOrigin: config.http.corsOrigin,
    adminAccess: adminAccess(config.http.adminToken, config.env),
    inFlight: new InFlight(),
  };
  return {
    app: createApp(deps),
    deps,
    closeSteps: [
      ['uploads in flight', () => deps.inFlight.idle()],
      ['queue events', () => events.close()],
      ['queues', () => Promise.all([queue.close(), deadLetters.close()])],
      ['redis', () => Promise.all([closeRedis(redis), closeRedis(eventsRedis)])],
    ],
  };
}
