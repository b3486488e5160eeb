import type { EnqueuedBatch } from '../queue/enqueue-batch';
import type { StoredResponse } from './idempotency-store';
import { json } from './openapi';
import { BatchAccepted } from './schemas';

/** The 202 of a queued batch, with each job's name only: a CSV row's other columns stay in the batch. */
export function batchAccepted({ batchId, files }: Pick<EnqueuedBatch, 'batchId' | 'files'>): StoredResponse & { location: string; body: BatchAccepted } {
  const body: BatchAccepted = { batchId, statusUrl: `/batches/${batchId}`, totalFiles: files.length, jobs: files.map((f) => ({ jobId: f.jobId, originalName: f.originalName, statusUrl: `/jobs/${f.jobId}` })) };
  return { status: 202, location: body.statusUrl, body };
}

/** The OpenAPI entry of that 202, with any headers a route adds after `Location`. */
export const batchAcceptedResponse = (description: string, headers: Record<string, { description: string; schema: { type: 'string'; enum?: string[] } }> = {}) => ({
  ...json(BatchAccepted, description),
  headers: { Location: { description: 'The batch status URL', schema: { type: 'string' as const } }, ...headers },
});
