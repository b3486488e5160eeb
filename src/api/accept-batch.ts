import type { Request, RequestHandler, Response } from 'express';
import type { EnqueuedBatch } from '../queue/enqueue-batch';
import type { StoredResponse } from './idempotency-store';
import { json } from './openapi';
import { BatchAccepted } from './schemas';

/** Runs an Express middleware (a body parser) as a step of a handler, so nothing is read before the checks that come first. */
export const runMiddleware = (middleware: RequestHandler, req: Request, res: Response) =>
  new Promise<void>((resolve, reject) => {
    void middleware(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });

/** The option fields of a JSON body as parseUploadFields reads them: a JSON client may send `variants` as an array, the multipart routes' text form is comma-separated. */
export function jsonOptionFields(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const fields = body as Record<string, unknown>;
  return Array.isArray(fields.variants) ? { ...fields, variants: fields.variants.join(',') } : fields;
}

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
