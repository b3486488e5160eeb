import type { RedisClient } from './redis-target';
import type { Logger } from 'pino';
import type { EventLog, LoggedEvent } from './event-log';
import { parseQueueEvent, type QueueEvent } from './events';

/** One listener of the fan-out. */
export interface EventSubscription {
  /** From now on, only the entries of these jobs and this batch's batch-finished; until called, every entry. */
  only(keys: { readonly batchId: string; readonly jobIds: Iterable<string> }): void;
  /** Stops delivery; `onEnd` does not run. Safe to call twice. */
  close(): void;
}

export interface EventFanOut {
  /**
   * Adds a listener and resolves once the reader is running: every entry added to the stream
   * after that is delivered to `onEvent`, in stream order. `onEnd` runs if the fan-out closes first.
   */
  subscribe(onEvent: (entry: LoggedEvent) => void, onEnd: () => void): Promise<EventSubscription>;
  /** The same stream read with plain commands on the producer's connection: its end, and what came after a position. */
  readonly log: EventLog;
  /** Open subscriptions: what a test checks returns to 0 once clients are gone. */
  readonly subscribers: number;
  readonly closed: boolean;
  /** Ends every subscription (their `onEnd` runs), refuses new ones, and stops the reader. Safe to call twice. */
  close(): Promise<void>;
}

interface Listener {
  readonly onEvent: (entry: LoggedEvent) => void;
  readonly onEnd: () => void;
  keys: readonly string[] | undefined;
}

export class FanOutClosedError extends Error {
  override name = 'FanOutClosedError';
}

const routeOf = (event: QueueEvent) => ('batchId' in event ? `batch:${event.batchId}` : `job:${event.jobId}`);

/**
 * One XREAD loop over an events stream, shared by every listener of the process: Redis sees
 * one blocked connection however many clients watch. The loop runs only while someone listens,
 * so an API without open streams reads nothing. It blocks on a duplicate of `redis` made the
 * first time it runs, as BullMQ's QueueEvents does: a blocked XREAD can only be cut short by
 * dropping its connection, which close() does. Entries are parsed once and routed by job or
 * batch id, so an entry costs the same however many streams are open.
 */
export function createEventFanOut(
  redis: RedisClient,
  options: {
    readonly key: string;
    /** Where the reader's starting position is read: the producer's log, so a subscriber fails fast while Redis is down. */
    readonly log: EventLog;
    readonly logger: Logger;
    readonly blockMs?: number;
  },
): EventFanOut {
  const { key, logger } = options;
  const blockMs = options.blockMs ?? 10_000;
  let own: RedisClient | undefined;
  const connection = () => {
    if (!own) {
      own = redis.duplicate();
      own.on('error', () => undefined); // the producer connection already reports outages
    }
    return own;
  };
  const all = new Set<Listener>();
  const unrouted = new Set<Listener>();
  const routed = new Map<string, Set<Listener>>();
  let closed = false;
  let closing: Promise<void> | undefined;
  let reader: { started: Promise<void>; done: Promise<void> } | undefined;

  const unroute = (listener: Listener) => {
    unrouted.delete(listener);
    for (const k of listener.keys ?? []) {
      const set = routed.get(k);
      set?.delete(listener);
      if (set?.size === 0) routed.delete(k);
    }
  };

  const dispatch = (entry: LoggedEvent) => {
    for (const listener of unrouted) listener.onEvent(entry);
    const set = routed.get(routeOf(entry.event));
    if (set) for (const listener of [...set]) listener.onEvent(entry);
  };

  const read = async (cursor: string) => {
    while (all.size > 0 && !closed) {
      try {
        const reply = await connection().xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', key, cursor);
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            cursor = id;
            const event = parseQueueEvent(fields);
            if (event) dispatch({ id, event });
          }
        }
      } catch (err) {
        if (closed) break;
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'event stream read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    // In the same tick as the check above: a listener added from here on starts a new reader.
    reader = undefined;
  };

  const start = () => {
    let markStarted: () => void = () => undefined;
    let failStart: (err: unknown) => void = () => undefined;
    const started = new Promise<void>((resolve, reject) => {
      markStarted = resolve;
      failStart = reject;
    });
    const done = options.log
      .lastId()
      .then(
        (cursor) => {
          markStarted();
          return read(cursor);
        },
        (err: unknown) => {
          reader = undefined;
          failStart(err);
        },
      );
    return { started, done };
  };

  return {
    async subscribe(onEvent, onEnd) {
      if (closed) throw new FanOutClosedError('The event fan-out is closed: the process is shutting down');
      const listener: Listener = { onEvent, onEnd, keys: undefined };
      all.add(listener);
      unrouted.add(listener);
      const subscription: EventSubscription = {
        only({ batchId, jobIds }) {
          if (!all.has(listener)) return;
          unroute(listener);
          listener.keys = [`batch:${batchId}`, ...[...jobIds].map((id) => `job:${id}`)];
          for (const k of listener.keys) routed.set(k, (routed.get(k) ?? new Set()).add(listener));
        },
        close() {
          if (!all.delete(listener)) return;
          unroute(listener);
        },
      };
      reader ??= start();
      try {
        await reader.started;
      } catch (err) {
        subscription.close();
        throw err;
      }
      return subscription;
    },
    log: options.log,
    get subscribers() {
      return all.size;
    },
    get closed() {
      return closed;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        const ending = [...all];
        all.clear();
        unrouted.clear();
        routed.clear();
        for (const listener of ending) listener.onEnd();
        // A blocked XREAD only returns when its time is up; dropping the connection ends it now.
        own?.disconnect();
        await reader?.done;
      })();
      return closing;
    },
  };
}
