import { FileOutcome, type BatchStore } from '../queue/batch-store';
import type { ImageQueue } from '../queue/jobs';
import { fileStatusOfOutcome, readBatchStatus } from '../queue/job-status';
import type { OutboxEntry, WebhookEventType, WebhookJobData } from '../queue/webhook-jobs';

const FINAL = { completed: 'batch.completed', 'completed-with-errors': 'batch.completed-with-errors', failed: 'batch.failed' } as const;

/**
 * An outbox entry → the webhook job that delivers it: `{ type, timestamp, data }` where data is
 * the batch (GET /batches/:id) or the file (GET /jobs/:id) as the API serves it, and timestamp
 * is when the outcome was recorded. Undefined when there is nothing to send any more (the batch
 * expired, or was reopened by a dead-letter retry: it sends a new event when it finishes again).
 */
export async function webhookJobOf(entry: OutboxEntry, deps: { queue: ImageQueue; batches: BatchStore }): Promise<WebhookJobData | undefined> {
  let type: WebhookEventType;
  let data: unknown;
  if (entry.kind === 'batch') {
    const batch = await readBatchStatus(deps.queue, deps.batches, entry.batchId);
    if (!batch || !(batch.status in FINAL)) return undefined;
    type = FINAL[batch.status as keyof typeof FINAL];
    data = batch;
  } else {
    const record = await deps.batches.get(entry.batchId);
    const file = record?.files.find((f) => f.jobId === entry.jobId);
    if (!file || entry.outcome === undefined) return undefined;
    const outcome = FileOutcome.parse(JSON.parse(entry.outcome));
    type = outcome.state === 'completed' ? 'file.completed' : 'file.failed';
    data = { ...fileStatusOfOutcome(file.jobId, file.originalName, outcome), batchId: entry.batchId };
  }
  const body = JSON.stringify({ type, timestamp: new Date(entry.at).toISOString(), data });
  return { webhookId: entry.id, type, url: entry.url, batchId: entry.batchId, ...(entry.jobId ? { jobId: entry.jobId } : {}), body };
}
