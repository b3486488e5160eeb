import { ApiProblem, eventsUrl, FINISHED, getBatch, type BatchStatus, type FileStatus } from './api.js';

export interface BatchListener {
  /** The whole batch: first, after a poll, and at the end. */
  batch(batch: BatchStatus): void;
  progress(jobId: string, percent: number): void;
  file(update: Pick<FileStatus, 'jobId' | 'state'> & Partial<FileStatus>): void;
  problem(problem: ApiProblem): void;
}

const POLL_MS = 1500;

/**
 * Follows a batch over GET /batches/:id/events until it finishes; if the stream cannot be had
 * (no EventSource, or the server closes it with an error), polls GET /batches/:id instead.
 * Returns a function that stops following.
 */
export function followBatch(batchId: string, listener: BatchListener): () => void {
  let stopped = false;
  let source: EventSource | undefined;
  let timer: number | undefined;
  const stop = () => {
    stopped = true;
    source?.close();
    window.clearTimeout(timer);
  };

  const poll = async () => {
    if (stopped) return;
    try {
      const batch = await getBatch(batchId);
      listener.batch(batch);
      if (FINISHED.has(batch.status)) return stop();
    } catch (err) {
      const problem = err instanceof ApiProblem ? err : new ApiProblem('INTERNAL_ERROR', 0, String(err));
      // A batch that is not there will not appear by asking again, nor will a key.
      if (problem.status === 404 || problem.status === 400 || problem.status === 401) {
        listener.problem(problem);
        return stop();
      }
    }
    timer = window.setTimeout(() => void poll(), POLL_MS);
  };

  if (typeof EventSource === 'undefined') {
    void poll();
    return stop;
  }
  source = new EventSource(eventsUrl(batchId));
  const data = (event: Event): unknown => JSON.parse((event as MessageEvent<string>).data);
  source.addEventListener('snapshot', (e) => listener.batch(data(e) as BatchStatus));
  source.addEventListener('progress', (e) => {
    const { jobId, progress } = data(e) as { jobId: string; progress: number };
    listener.progress(jobId, progress);
  });
  source.addEventListener('file', (e) => listener.file(data(e) as FileStatus));
  source.addEventListener('batch', (e) => {
    listener.batch(data(e) as BatchStatus);
    // The server ends the stream after `batch`; EventSource would reconnect if left open.
    stop();
  });
  source.addEventListener('error', () => {
    // CONNECTING: EventSource retries by itself (with Last-Event-ID). CLOSED: it gave up (an
    // answer that is not a stream, such as a 404): poll, which also reports the problem.
    if (source?.readyState === EventSource.CLOSED && !stopped) {
      source = undefined;
      void poll();
    }
  });
  return stop;
}
