import type { Job, JobType } from 'bullmq';
import { DELIVERY_STATUSES, type DeliveryStatus, type WebhookEventType, type WebhookJobData, type WebhookJobName, type WebhookJobResult, type WebhookQueue } from '../queue/webhook-jobs';

export interface Delivery {
  readonly id: string;
  readonly type: WebhookEventType;
  readonly url: string;
  readonly batchId: string;
  readonly jobId: string | null;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly lastAttemptAt: string | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly lastResponse: string | null;
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
}

const STATES: Record<DeliveryStatus, JobType[]> = {
  pending: ['waiting', 'prioritized', 'delayed', 'active'],
  delivered: ['completed'],
  failed: ['failed'],
};

/** How many of the newest jobs per status a listing looks through. */
export const DELIVERY_SCAN_LIMIT = 1000;

type WebhookJob = Job<WebhookJobData, WebhookJobResult, WebhookJobName>;

function deliveryOf(job: WebhookJob, status: DeliveryStatus): Delivery | undefined {
  if (job.id === undefined) return undefined;
  const { data } = job;
  const last = data.last;
  return {
    id: job.id,
    type: data.type,
    url: data.url,
    batchId: data.batchId,
    jobId: data.jobId ?? null,
    status,
    attempts: job.attemptsMade,
    lastAttemptAt: last?.at ?? null,
    lastStatusCode: last?.statusCode ?? null,
    lastError: last?.error ?? null,
    lastResponse: last?.response ?? null,
    nextAttemptAt: status === 'pending' ? (last?.nextAttemptAt ?? null) : null,
    createdAt: new Date(job.timestamp).toISOString(),
  };
}

/** Deliveries, newest first, optionally of one batch and one status; failed ones stay until retention. */
export async function listDeliveries(
  webhooks: WebhookQueue,
  filter: { batchId?: string | undefined; status?: DeliveryStatus | undefined; offset: number; limit: number },
): Promise<{ total: number; items: Delivery[] }> {
  const statuses = filter.status ? [filter.status] : DELIVERY_STATUSES;
  const found = await Promise.all(
    statuses.map(async (status) => (await webhooks.getJobs(STATES[status], 0, DELIVERY_SCAN_LIMIT - 1, false)).flatMap((job) => deliveryOf(job, status) ?? [])),
  );
  const all = found
    .flat()
    .filter((d) => filter.batchId === undefined || d.batchId === filter.batchId)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  return { total: all.length, items: all.slice(filter.offset, filter.offset + filter.limit) };
}

/**
 * Sends a delivery again under its webhook-id (each attempt is signed with a new timestamp):
 * a finished one goes back to the queue with a fresh set of attempts, a delayed one is sent now,
 * one already waiting or being sent is left as it is. False when there is no such delivery.
 */
export async function replayDelivery(webhooks: WebhookQueue, id: string): Promise<boolean> {
  const job = await webhooks.getJob(id);
  if (!job) return false;
  const state = await job.getState();
  if (state === 'failed' || state === 'completed') await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
  else if (state === 'delayed') await job.promote();
  return true;
}
