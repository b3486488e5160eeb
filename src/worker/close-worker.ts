import type { RedisClient } from '../queue/redis-target';

/**
 * Closes the worker (BullMQ's close(): no new jobs, active ones finish) without waiting for
 * Redis to come back. While Redis is unreachable, BullMQ's commands and a job's own writes sit
 * in the connection's offline queue until a reconnect, and so would close(). Once Redis is
 * gone the close is done: at once when no job runs here (nothing to hand back), otherwise
 * after `graceMs`, so a short blip does not cost the jobs in flight. A job cut short this way
 * loses nothing: its result could not be written anyway, its output is only renamed into place
 * when whole, and its lock lapses so that BullMQ's stalled check returns it to the queue.
 */
export async function closeWorker(
  close: () => Promise<void>,
  redis: RedisClient,
  running: () => number,
  { pollMs = 100, graceMs = 2000 } = {},
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let downSince: number | undefined;
  const redisGone = new Promise<void>((resolve) => {
    const watch = () => {
      const down = redis.status !== 'ready' && redis.status !== 'end';
      downSince = down ? (downSince ?? Date.now()) : undefined;
      if (downSince !== undefined && (running() === 0 || Date.now() - downSince >= graceMs)) {
        // Stops the reconnect attempts. (On a client already reconnecting ioredis does not fail
        // the queued commands, which is why this resolves instead of waiting for close().)
        redis.disconnect();
        resolve();
      } else timer = setTimeout(watch, pollMs);
    };
    watch();
  });
  try {
    await Promise.race([close(), redisGone]);
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps `fn` and counts its calls still running, for closeWorker's `running`. */
export function countRunning<A extends unknown[], R>(fn: (...args: A) => Promise<R>): { fn: (...args: A) => Promise<R>; running: () => number } {
  let running = 0;
  return {
    fn: async (...args) => {
      running++;
      try {
        return await fn(...args);
      } finally {
        running--;
      }
    },
    running: () => running,
  };
}
