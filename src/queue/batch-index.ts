import { QueueKeys } from 'bullmq';
import { IMAGE_QUEUE } from './jobs';
import type { RedisClient } from './redis-target';

/**
 * Where each owner's batches are listed: a sorted set per owner (score: creation time in ms,
 * member: batch id), written by the batch store in the same script as the batch. Batch hashes
 * expire by themselves; their expiry times sit in one more sorted set (member: `owner batchId`),
 * moved on by the same scripts that set each hash's TTL, so pruning removes exactly the entries
 * whose batches are gone, each once, without scanning anyone's history.
 */
export function batchIndexKeys(prefix: string) {
  const keys = new QueueKeys(prefix);
  return {
    /** The owner's index; batches made without an API key share one, whose name an owner's extends with `:<owner>` (REMOVE_BATCH relies on it). */
    byOwner: (owner: string | undefined) => keys.toKey(IMAGE_QUEUE, owner === undefined ? 'batch-index' : `batch-index:${owner}`),
    expiry: keys.toKey(IMAGE_QUEUE, 'batch-index-expiry'),
  };
}

/** A position in an index: the last entry a page returned. */
export interface IndexPosition {
  readonly createdAtMs: number;
  readonly batchId: string;
}

export interface BatchIndex {
  /**
   * Up to `count` entries, newest first, after `after` (exclusive). One round trip of ZRANGEs
   * with LIMIT: its cost is the page's plus the log of the index, however long the owner's history.
   */
  page(owner: string | undefined, after: IndexPosition | undefined, count: number): Promise<IndexPosition[]>;
  /** Removes the entries of batches whose records have expired, at most `max` per call; returns how many. */
  prune(max?: number): Promise<number>;
  /** Drops the entries of batches that turned out to be gone already, in one MULTI. */
  forget(owner: string | undefined, batchIds: readonly string[]): Promise<void>;
}

export function createBatchIndex(redis: RedisClient, prefix: string): BatchIndex {
  const keys = batchIndexKeys(prefix);
  return {
    async page(owner, after, count) {
      const key = keys.byOwner(owner);
      if (after === undefined) return positionsOf(await redis.zrange(key, '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, count, 'WITHSCORES'));
      // One round trip: the entries at the cursor's own millisecond (descending id order, REV:
      // those after the cursor's id are kept), and up to `count` older ones.
      const [ties, older] = await Promise.all([
        redis.zrange(key, after.createdAtMs, after.createdAtMs, 'BYSCORE', 'REV', 'WITHSCORES'),
        redis.zrange(key, `(${after.createdAtMs}`, '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, count, 'WITHSCORES'),
      ]);
      return [...positionsOf(ties).filter((e) => e.batchId < after.batchId), ...positionsOf(older)].slice(0, count);
    },
    async prune(max = 1000) {
      // Redis's clock, which set the expiry times.
      const [seconds] = await redis.time();
      const expired = await redis.zrange(keys.expiry, '-inf', Number(seconds) * 1000, 'BYSCORE', 'LIMIT', 0, max);
      if (expired.length === 0) return 0;
      const pipeline = redis.pipeline();
      for (const member of expired) {
        const space = member.indexOf(' ');
        const owner = member.slice(0, space);
        pipeline.zrem(keys.byOwner(owner === '' ? undefined : owner), member.slice(space + 1));
      }
      pipeline.zrem(keys.expiry, ...expired);
      await pipeline.exec();
      return expired.length;
    },
    async forget(owner, batchIds) {
      await redis.multi().zrem(keys.byOwner(owner), ...batchIds).zrem(keys.expiry, ...batchIds.map((id) => `${owner ?? ''} ${id}`)).exec();
    },
  };
}

function positionsOf(flat: readonly string[]): IndexPosition[] {
  const entries: IndexPosition[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ batchId: String(flat[i]), createdAtMs: Number(flat[i + 1]) });
  return entries;
}
