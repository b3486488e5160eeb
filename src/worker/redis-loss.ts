import type { RedisClient } from '../queue/redis-target';

/**
 * Calls `onLost` once when `redis` has not been ready for `lostMs` in a row. ioredis reconnects
 * forever, which rides out a restart or failover; an outage longer than that is better handed
 * to the supervisor (a fresh process, and an alert on its restarts) than waited out unseen.
 */
export function watchRedisLoss(redis: RedisClient, lostMs: number, onLost: (downMs: number) => void, { pollMs = 1000 } = {}): { stop(): void } {
  let downSince: number | undefined;
  const timer = setInterval(() => {
    if (redis.status === 'ready') {
      downSince = undefined;
      return;
    }
    downSince ??= Date.now();
    const downMs = Date.now() - downSince;
    if (downMs >= lostMs) {
      clearInterval(timer);
      onLost(downMs);
    }
  }, pollMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
