import { openAsBlob } from 'node:fs';

/** One file to send: a path on disk (streamed, never read whole) or bytes already in memory. */
export interface UploadItem {
  readonly name: string;
  readonly mime: string;
  readonly path?: string;
  readonly data?: Uint8Array;
}

export interface AcceptedBatch {
  readonly batchId: string;
  readonly jobIds: readonly string[];
  readonly files: number;
  /** performance.now() when the 202 arrived. */
  readonly acceptedAt: number;
}

export interface UploadOutcome {
  /** HTTP status, or 0 when the request itself failed. */
  readonly status: number;
  readonly ms: number;
  readonly files: number;
  readonly accepted?: AcceptedBatch;
  readonly detail?: string;
}

export interface BatchProgress {
  readonly status: string;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
}

const FINISHED = new Set(['completed', 'completed-with-errors', 'failed']);
export const isFinished = (p: BatchProgress) => FINISHED.has(p.status);

async function blobOf(item: UploadItem): Promise<Blob> {
  if (item.data) return new Blob([item.data], { type: item.mime });
  if (!item.path) throw new Error(`Expected a path or data for ${item.name}`);
  // File-backed: fetch streams it from disk while sending, so the client never holds the file.
  return openAsBlob(item.path, { type: item.mime });
}

/** POST /process-images with `items` in the `images` field; never throws. */
export async function uploadBatch(base: URL, items: readonly UploadItem[]): Promise<UploadOutcome> {
  const form = new FormData();
  for (const item of items) form.append('images', await blobOf(item), item.name);
  const started = performance.now();
  try {
    const res = await fetch(new URL('/process-images', base), { method: 'POST', body: form });
    const text = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 202) return { status: res.status, ms, files: items.length, detail: text.slice(0, 300) };
    const body = JSON.parse(text) as { batchId: string; totalFiles: number; jobs: { jobId: string }[] };
    return {
      status: res.status,
      ms,
      files: items.length,
      accepted: { batchId: body.batchId, jobIds: body.jobs.map((j) => j.jobId), files: body.totalFiles, acceptedAt: performance.now() },
    };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
    return { status: 0, ms: performance.now() - started, files: items.length, detail: `${err instanceof Error ? err.message : String(err)} ${cause}`.trim() };
  }
}

/** GET /batches/:batchId; undefined when the service does not answer 200. */
export async function readBatch(base: URL, batchId: string): Promise<BatchProgress | undefined> {
  const res = await fetch(new URL(`/batches/${encodeURIComponent(batchId)}`, base));
  const text = await res.text();
  if (res.status !== 200) return undefined;
  const body = JSON.parse(text) as { status: string; progress: { total: number; completed: number; failed: number } };
  return { status: body.status, ...body.progress };
}
