import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { clientKeyOf } from '../core/imgflow';
import type { RedisClient } from '../queue/redis-target';
import { isPublic, submitterOf } from './api-key-auth';
import { HttpError } from './errors';
import { limitHeaders, refusalHeaders } from './limit-headers';

const WINDOW_SECONDS = 60;

/** RATE_LIMIT_REQUESTS_PER_MIN unset or 0. */
export const noRateLimit: RequestHandler = (_req, _res, next) => next();

/**
 * RATE_LIMIT_REQUESTS_PER_MIN per API key (per client address on a server without keys), in
 * Redis so every API process counts against the same budget. Runs before any body is read. The
 * public routes (probes, docs, the page) are not counted. While Redis is unreachable requests
 * pass: the routes that need Redis answer 503 by themselves, and the others need no protecting.
 */
export function rateLimit(options: { redis: RedisClient; prefix: string; requestsPerMin: number; logger: Logger }): RequestHandler {
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    keyPrefix: `${options.prefix}:rate-limit`,
    points: options.requestsPerMin,
    duration: WINDOW_SECONDS,
    // Fail at once rather than wait on a connection that is down (the producer role does not queue commands).
    rejectIfRedisNotReady: true,
  });
  const policy = { name: 'requests', quota: options.requestsPerMin, windowSeconds: WINDOW_SECONDS };
  return async (req, res, next) => {
    if (isPublic(req)) return next();
    try {
      const state = await limiter.consume(clientKeyOf(submitterOf(req, res)));
      res.set(limitHeaders(policy, state.remainingPoints, state.msBeforeNext / 1000));
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        const headers = refusalHeaders(policy, err.msBeforeNext / 1000);
        return next(new HttpError('RATE_LIMITED', `Expected at most ${options.requestsPerMin} requests a minute per client; retry after ${headers['Retry-After']} s`, { headers }));
      }
      options.logger.warn({ err }, 'rate limit not checked: Redis unreachable');
    }
    next();
  };
}
