import { Worker } from 'bullmq';
import type { RedisClient } from '../queue/redis-target';
import type { Logger } from 'pino';
import { WEBHOOK_QUEUE, type WebhookJobData, type WebhookJobName, type WebhookJobResult } from '../queue/webhook-jobs';
import type { WebhookProcessor } from './deliver-webhook';

export type WebhookWorker = Worker<WebhookJobData, WebhookJobResult, WebhookJobName>;

/**
 * Consumes the webhooks queue: a queue and a Worker of their own, with bounded concurrency, so
 * slow or failing receivers hold at most `concurrency` deliveries and never an image job.
 */
export function createWebhookWorker(deps: { connection: RedisClient; prefix: string; processor: WebhookProcessor; concurrency: number; logger: Logger }): WebhookWorker {
  const worker: WebhookWorker = new Worker(WEBHOOK_QUEUE, deps.processor, { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency });
  worker.on('failed', (job, err) => {
    if (job) deps.logger.warn({ webhookId: job.id, batchId: job.data.batchId, attemptsMade: job.attemptsMade, reason: err.message }, 'webhook attempt failed');
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'webhook worker error'));
  return worker;
}
