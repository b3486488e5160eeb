import type { RedisOptions } from 'ioredis';
import { isErrno } from '../errno';
import { openRedis, type RedisClient, type RedisTarget } from './redis-target';

export type ConnectionRole = 'producer' | 'worker';

/**
 * How long the API waits for any one Redis reply. The README promises an upload a 503 within
 * 3 s when Redis hangs: the batch record is the upload's first write and is abandoned after
 * this long (see enqueueBatch), with the clock read before it well inside the same bound.
 */
export const PRODUCER_COMMAND_TIMEOUT_MS = 2000;

/**
 * One Redis connection per role, following BullMQ's production guide.
 *
 * - producer (the API's Queue): fails fast. With no offline queue and one retry, an upload
 *   during an outage gets a 503 at once instead of a request that hangs until Redis returns.
 * - worker (Worker, QueueEvents): waits out any outage. `maxRetriesPerRequest: null` is what
 *   BullMQ requires for blocking commands; commands queue up and run on reconnect.
 *
 * Both keep reconnecting in the background, backing off to at most two seconds.
 */
export function redisConnection(target: RedisTarget, role: ConnectionRole): RedisClient {
  const common: RedisOptions = {
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    connectTimeout: 5000,
  };
  const byRole: RedisOptions =
    role === 'producer'
      ? // commandTimeout: a Redis that accepts the connection but stops answering must not hang uploads either.
        { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null };
  return openRedis(target, { ...common, ...byRole });
}

export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

/** True for the errors ioredis raises when Redis cannot be reached (as opposed to a bad command). */
export function isRedisUnavailable(err: unknown): boolean {
  if (err instanceof QueueUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = isErrno(err) ? err.code : '';
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|Stream isn't writeable|Command timed out/i.test(err.message) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)
  );
}

/**
 * Ends a connection without waiting for a Redis that is not there: QUIT when connected (the
 * replies still owed arrive first), otherwise a plain disconnect. QUIT on a connection that is
 * down either fails at once (no offline queue) or waits in the offline queue until Redis
 * returns, which is what held shutdowns to their deadline.
 */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') await redis.quit();
  else redis.disconnect();
}

/**
 * Runs a close step that talks to Redis, but waits for it only while `redis` is up. With Redis
 * gone there is nothing to hand back, and the step's commands would sit in an offline queue
 * until Redis returns, holding the shutdown to its deadline.
 */
export async function closeUnlessDown(redis: RedisClient, close: () => Promise<unknown>): Promise<void> {
  const closing = close();
  if (redis.status === 'ready') await closing;
  else closing.catch(() => undefined);
}

/** Rejects when the producer connection is not ready, rather than waiting for it. */
export function assertReady(redis: RedisClient): void {
  if (redis.status !== 'ready') throw new QueueUnavailableError(`Redis is ${redis.status}`);
}
