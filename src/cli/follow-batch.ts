import { EventSource } from 'eventsource';
import type { z } from 'zod';
import { BatchStatus, FileEvent, isFinished } from './api-types';
import { ServerUnreachableError } from './errors';
import type { ApiClient } from './http-client';

/** A file that finished, as a `file` event or a snapshot tells it. */
export interface FinishedFile {
  readonly jobId: string;
  readonly state: string;
  readonly failedReason?: string | null | undefined;
}

const POLL_INTERVAL_MS = 1000;
// EventSource reconnects by itself; after this many failures in a row without an event, poll instead.
const STREAM_FAILURES_BEFORE_POLLING = 3;
// A server restarting is a few failed polls; more than this in a row is a server that is gone.
const POLL_FAILURES_TOLERATED = 5;

/**
 * Follows a batch to its end over GET /batches/:id/events, telling `onFile` of each file once as
 * it finishes, and resolves with the final batch. Falls back to polling GET /batches/:id when
 * the stream cannot be had (an older server, a proxy that buffers, a broken connection).
 */
export async function followBatch(client: ApiClient, batchId: string, onFile: (file: FinishedFile) => void): Promise<BatchStatus> {
  const seen = new Set<string>();
  const report = (file: FinishedFile) => {
    if (seen.has(file.jobId) || (file.state !== 'completed' && file.state !== 'failed')) return;
    seen.add(file.jobId);
    onFile(file);
  };
  const reportAll = (batch: BatchStatus) => batch.files.forEach(report);
  const streamed = await streamBatch(client, batchId, report, reportAll);
  if (streamed) return streamed;
  return pollBatch(client, batchId, reportAll);
}

/** The final batch from the event stream, or undefined when the stream could not be followed. */
function streamBatch(client: ApiClient, batchId: string, report: (file: FinishedFile) => void, reportAll: (batch: BatchStatus) => void): Promise<BatchStatus | undefined> {
  const { url, fetch } = client.eventStream(batchId);
  return new Promise((resolve) => {
    const source = new EventSource(url, { fetch });
    let failures = 0;
    const finish = (batch: BatchStatus | undefined) => {
      source.close();
      resolve(batch);
    };
    const parsed = <T extends z.ZodType>(schema: T, data: string): z.infer<T> | undefined => {
      try {
        const result = schema.safeParse(JSON.parse(data));
        return result.success ? result.data : undefined;
      } catch {
        return undefined;
      }
    };
    source.addEventListener('snapshot', (e) => {
      failures = 0;
      const batch = parsed(BatchStatus, e.data);
      if (!batch) return finish(undefined);
      reportAll(batch);
    });
    source.addEventListener('file', (e) => {
      const file = parsed(FileEvent, e.data);
      if (!file) return finish(undefined);
      report(file);
    });
    source.addEventListener('batch', (e) => {
      const batch = parsed(BatchStatus, e.data);
      if (batch) reportAll(batch);
      finish(batch);
    });
    source.onerror = () => {
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= STREAM_FAILURES_BEFORE_POLLING) finish(undefined);
    };
  });
}

async function pollBatch(client: ApiClient, batchId: string, reportAll: (batch: BatchStatus) => void): Promise<BatchStatus> {
  let failures = 0;
  for (;;) {
    try {
      const batch = await client.batch(batchId);
      failures = 0;
      reportAll(batch);
      if (isFinished(batch.status)) return batch;
    } catch (err) {
      if (!(err instanceof ServerUnreachableError) || ++failures > POLL_FAILURES_TOLERATED) throw err;
    }
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
