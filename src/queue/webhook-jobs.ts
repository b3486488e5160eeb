import { QueueKeys, type JobsOptions, type Queue } from 'bullmq';
import { z } from 'zod';

// The webhook contract between the processes, apart from jobs.ts because it is a second queue
// with its own options: the worker relays and delivers, the API lists and replays.

export const WEBHOOK_QUEUE = 'webhooks';
export const WEBHOOK_JOB = 'deliver-webhook';
export type WebhookJobName = typeof WEBHOOK_JOB;

export const WEBHOOK_EVENT_TYPES = ['batch.completed', 'batch.completed-with-errors', 'batch.failed', 'file.completed', 'file.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** A delivery as the operator routes show it: pending (waiting, retrying or being sent), delivered, or failed for good. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** What an upload's `callbackEvents` may ask for: the batch's end, or each file's too. */
export const CALLBACK_EVENTS = ['batch', 'batch,file'] as const;
export type CallbackEvents = (typeof CALLBACK_EVENTS)[number];

/** Where a batch's webhooks go; kept in its batch record. */
export interface BatchCallback {
  readonly url: string;
  readonly events: CallbackEvents;
}

/**
 * An event the batch store's script wrote to the outbox in the same step as the outcome that
 * caused it; the relay turns each into a webhook job whose id is `id`. `outcome` is the file's
 * outcome as recorded (JSON text), for file events.
 */
export const OutboxEntry = z.object({
  id: z.string().regex(/^msg_[\w-]+$/),
  kind: z.enum(['batch', 'file']),
  batchId: z.uuid(),
  jobId: z.string().optional(),
  url: z.string(),
  at: z.number().int().nonnegative(),
  outcome: z.string().optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntry>;

/** The Redis list the batch store's script pushes webhook events to, under the webhooks queue's own keys. */
export function webhookOutboxKey(prefix: string): string {
  return new QueueKeys(prefix).toKey(WEBHOOK_QUEUE, 'outbox');
}

/** The last attempt, as the delivery worker saw it: what the operator routes show. */
export const DeliveryAttempt = z.object({
  at: z.iso.datetime(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  /** At most 1 KB of the receiver's answer. */
  response: z.string().nullable(),
  nextAttemptAt: z.iso.datetime().nullable(),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

export const WebhookJobData = z.object({
  webhookId: z.string(),
  type: z.enum(WEBHOOK_EVENT_TYPES),
  url: z.string(),
  batchId: z.uuid(),
  jobId: z.string().optional(),
  /** The exact body, `{ type, timestamp, data }` as JSON text: every attempt and replay sends the same bytes. */
  body: z.string(),
  last: DeliveryAttempt.optional(),
});
export type WebhookJobData = z.infer<typeof WebhookJobData>;

export interface WebhookJobResult {
  readonly statusCode: number;
}

export type WebhookQueue = Queue<WebhookJobData, WebhookJobResult, WebhookJobName>;

export interface WebhookPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly retentionSeconds: number;
}

/** Options of every webhook job; the job id is the webhook-id, so relaying an event twice adds it once. */
export function webhookJobOptions(policy: WebhookPolicy, webhookId: string): JobsOptions {
  return {
    jobId: webhookId,
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    // Kept by age only: a count limit could drop a job while its outbox entry may still be relayed,
    // and a failed delivery must stay listed (and replayable) until retention.
    removeOnComplete: { age: policy.retentionSeconds },
    removeOnFail: { age: policy.retentionSeconds },
  };
}

/** The wait before the attempt after `attemptsMade` failed ones: BullMQ's exponential backoff, for showing the next attempt. */
export function retryDelayMs(policy: Pick<WebhookPolicy, 'backoffMs'>, attemptsMade: number): number {
  return Math.round(2 ** (attemptsMade - 1) * policy.backoffMs);
}
