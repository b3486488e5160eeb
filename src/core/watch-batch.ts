import type { EventLog, LoggedEvent } from '../queue/event-log';
import { FanOutClosedError, type EventFanOut, type EventSubscription } from '../queue/event-fan-out';
import { compareEventIds, EVENT_ID } from '../queue/events';
import type { BatchStatusView, FileStatus } from '../queue/job-status';
import type { ImageJobResult } from '../queue/jobs';
import { AppError } from './errors';

/** A file that finished: its result, or why it failed for good. */
export type FileEvent =
  | { readonly jobId: string; readonly state: 'completed'; readonly result: ImageJobResult }
  | { readonly jobId: string; readonly state: 'failed'; readonly failedReason: string };

/**
 * What a watcher of a batch receives, each with the stream position it can be resumed after.
 * `snapshot` and `batch` carry exactly what getBatch returns; `batch` is the last event.
 */
export type BatchEvent =
  | { readonly id: string; readonly event: 'snapshot' | 'batch'; readonly data: BatchStatusView }
  | { readonly id: string; readonly event: 'progress'; readonly data: { readonly jobId: string; readonly progress: number } }
  | { readonly id: string; readonly event: 'file'; readonly data: FileEvent };

export interface BatchWatch extends AsyncIterable<BatchEvent> {
  /** Ends the watch: iteration finishes and the subscription is released. Safe to call twice. */
  close(): void;
}

export interface WatchDeps {
  readonly fanOut: EventFanOut;
  /** The same stream, read with plain commands: its end, and the entries after a position. */
  readonly log: EventLog;
  readonly getBatch: (batchId: string) => Promise<BatchStatusView>;
}

/** Entries delivered by the fan-out, waiting for the watcher to pull them. */
class Inbox {
  private readonly items: LoggedEvent[] = [];
  private wake: ((entry: LoggedEvent | undefined) => void) | undefined;
  private ended = false;

  readonly push = (entry: LoggedEvent) => {
    if (this.ended) return;
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      wake(entry);
    } else this.items.push(entry);
  };

  readonly end = () => {
    this.ended = true;
    this.wake?.(undefined);
    this.wake = undefined;
  };

  /** The next entry; undefined once ended, even with entries left (a closed watch stops at once). */
  next(): Promise<LoggedEvent | undefined> {
    if (this.ended) return Promise.resolve(undefined);
    const entry = this.items.shift();
    return entry ? Promise.resolve(entry) : new Promise((resolve) => (this.wake = resolve));
  }
}

const isFinal = (state: string | undefined) => state === 'completed' || state === 'failed';
const isFinished = (batch: BatchStatusView) => batch.files.every((f) => isFinal(f.state));

function fileEvent(file: FileStatus): FileEvent | undefined {
  if (file.state === 'completed' && file.result) return { jobId: file.jobId, state: 'completed', result: file.result };
  if (file.state === 'failed') return { jobId: file.jobId, state: 'failed', failedReason: file.failedReason ?? '' };
  return undefined;
}

/**
 * A batch's events, live: `snapshot` (or, resuming after `after`, what came since), then
 * `progress` and `file` as they happen, and `batch` once every file has an outcome.
 *
 * Nothing is lost between the snapshot and the live events: the subscription starts first,
 * then the stream's end is noted, then the batch is read; live entries after that end are
 * delivered, and a file the snapshot already shows finished is not told again. `file` events
 * come from BullMQ's `completed` / `failed`; the batch-finished event can overtake some of them
 * (the worker records a completed outcome just before BullMQ's event), so on it every finished
 * file not told yet is told from the final batch before `batch`. A resume replays the stream
 * after the client's position (XRANGE), past the batch-finished entry, then goes on live.
 *
 * Refuses before any event: BATCH_NOT_FOUND, SHUTTING_DOWN.
 */
export async function watchBatch(deps: WatchDeps, batchId: string, options: { after?: string | undefined } = {}): Promise<BatchWatch> {
  const inbox = new Inbox();
  let subscription: EventSubscription;
  try {
    subscription = await deps.fanOut.subscribe(inbox.push, inbox.end);
  } catch (err) {
    if (err instanceof FanOutClosedError) throw new AppError('SHUTTING_DOWN', 'This server is shutting down; connect again', { cause: err });
    throw err;
  }
  let start: string;
  let resumeFrom: string | undefined;
  let batch: BatchStatusView;
  try {
    start = await deps.log.lastId();
    const { after } = options;
    resumeFrom = after !== undefined && EVENT_ID.test(after) && (await deps.log.holds(after)) ? after : undefined;
    batch = await deps.getBatch(batchId);
    subscription.only({ batchId, jobIds: batch.files.map((f) => f.jobId) });
  } catch (err) {
    subscription.close();
    throw err;
  }

  const close = () => {
    subscription.close();
    inbox.end();
  };
  const jobIds = new Set(batch.files.map((f) => f.jobId));
  // What the client is known to have about each file: the snapshot, or in a resume what had
  // finished when this watch started (the client saw those before its position, or sees them
  // in the replay).
  const known = new Map(batch.files.map((f) => [f.jobId, f.state]));
  // What this watch has told about each file.
  const told = new Map<string, string>();
  const isOurs = ({ event }: LoggedEvent) => (event.event === 'batch-finished' ? event.batchId === batchId : jobIds.has(event.jobId));

  /** A progress or file event of one of the batch's jobs, unless already told. */
  const tell = ({ id, event }: LoggedEvent): BatchEvent[] => {
    if (event.event === 'batch-finished') return [];
    const previous = told.get(event.jobId);
    if (event.event === 'progress') return isFinal(previous) ? [] : [{ id, event: 'progress', data: { jobId: event.jobId, progress: event.data } }];
    if (previous === event.event) return [];
    told.set(event.jobId, event.event);
    const data: FileEvent =
      event.event === 'completed'
        ? { jobId: event.jobId, state: 'completed', result: event.returnvalue }
        : { jobId: event.jobId, state: 'failed', failedReason: event.failedReason };
    return [{ id, event: 'file', data }];
  };

  /** The end, at the batch-finished entry `id`: every finished file not told or known yet, then `batch`. */
  const finish = async (id: string): Promise<BatchEvent[]> => {
    const final = await deps.getBatch(batchId);
    const events: BatchEvent[] = [];
    for (const file of final.files) {
      const data = told.get(file.jobId) === file.state || known.get(file.jobId) === file.state ? undefined : fileEvent(file);
      if (data) events.push({ id, event: 'file', data });
    }
    events.push({ id, event: 'batch', data: final });
    return events;
  };

  async function* run(): AsyncGenerator<BatchEvent> {
    try {
      let cursor = resumeFrom !== undefined && compareEventIds(resumeFrom, start) > 0 ? resumeFrom : start;
      if (resumeFrom === undefined) {
        yield { id: start, event: 'snapshot', data: batch };
        for (const file of batch.files) told.set(file.jobId, file.state);
        if (isFinished(batch)) {
          yield { id: start, event: 'batch', data: batch };
          return;
        }
      } else {
        // The whole replay, even past the batch-finished entry: a file's `completed` can follow it.
        let finishedAt: string | undefined;
        for await (const entry of deps.log.after(resumeFrom)) {
          if (compareEventIds(entry.id, cursor) > 0) cursor = entry.id;
          if (!isOurs(entry)) continue;
          if (entry.event.event === 'batch-finished') finishedAt ??= entry.id;
          else yield* tell(entry);
        }
        if (finishedAt !== undefined) {
          yield* await finish(finishedAt);
          return;
        }
        // Finished, and its batch-finished is not after the client's position: the client saw it.
        if (isFinished(batch)) {
          yield { id: cursor, event: 'batch', data: batch };
          return;
        }
      }
      for (;;) {
        const entry = await inbox.next();
        if (!entry) return;
        // Already delivered by the replay, or before this watch's starting position.
        if (compareEventIds(entry.id, cursor) <= 0 || !isOurs(entry)) continue;
        cursor = entry.id;
        if (entry.event.event === 'batch-finished') {
          yield* await finish(entry.id);
          return;
        }
        yield* tell(entry);
      }
    } finally {
      close();
    }
  }

  const events = run();
  return { close, [Symbol.asyncIterator]: () => events };
}
