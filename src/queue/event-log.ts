import type { RedisClient } from './redis-target';
import { compareEventIds, parseQueueEvent, type QueueEvent } from './events';

/** A stream entry that live progress reads, with its position. */
export interface LoggedEvent {
  readonly id: string;
  readonly event: QueueEvent;
}

/** Entries per XRANGE page: a page of small entries is a few hundred KB at most. */
const PAGE = 500;

/**
 * Reads an events stream (the image queue's, in production) as a log: its current end, whether a
 * position is still in it, and what came after one. Plain commands, run on any connection.
 */
export interface EventLog {
  /** The id of the newest entry, or `0-0` when the stream is empty: a position nothing is missed after. */
  lastId(): Promise<string>;
  /**
   * Whether everything after `id` is still in the stream: trimming removes the oldest entries,
   * so that holds while the oldest entry left is not newer than `id`.
   */
  holds(id: string): Promise<boolean>;
  /** The entries after `id`, oldest first, page by page; entries nobody reads are skipped. */
  after(id: string): AsyncIterable<LoggedEvent>;
}

export function createEventLog(redis: RedisClient, key: string): EventLog {
  const edge = async (command: 'xrange' | 'xrevrange') => {
    const [entry] = command === 'xrange' ? await redis.xrange(key, '-', '+', 'COUNT', 1) : await redis.xrevrange(key, '+', '-', 'COUNT', 1);
    return entry?.[0];
  };
  return {
    lastId: async () => (await edge('xrevrange')) ?? '0-0',
    async holds(id) {
      const [oldest, newest] = await Promise.all([edge('xrange'), edge('xrevrange')]);
      return oldest !== undefined && newest !== undefined && compareEventIds(oldest, id) <= 0 && compareEventIds(id, newest) <= 0;
    },
    async *after(id) {
      let cursor = id;
      for (;;) {
        const entries = await redis.xrange(key, `(${cursor}`, '+', 'COUNT', PAGE);
        for (const [entryId, fields] of entries) {
          const event = parseQueueEvent(fields);
          if (event) yield { id: entryId, event };
        }
        const last = entries.at(-1);
        if (!last || entries.length < PAGE) return;
        cursor = last[0];
      }
    },
  };
}
