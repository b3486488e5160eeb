import { createHash, randomUUID } from 'node:crypto';
import type { Result } from 'ioredis';
import type { RedisClient } from '../queue/redis-target';
import { z } from 'zod';

/** What a replay sends again: the first response's status, `Location` and body. */
export const StoredResponse = z.object({ status: z.number().int(), location: z.string().optional(), body: z.unknown() });
export type StoredResponse = z.infer<typeof StoredResponse>;

export type Claim =
  | { readonly kind: 'claimed'; readonly token: string }
  | { readonly kind: 'in-progress' }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

export interface IdempotencyStore {
  /** Claims `key` in `scope` for a first request, or tells what holds it: a request still in flight, or the stored response. */
  claim(scope: string, key: string): Promise<Claim>;
  /** Stores the response of the request holding `token`, for the replay lifetime; a claim taken over by another request is left alone. */
  complete(scope: string, key: string, token: string, response: StoredResponse): Promise<void>;
  /** Gives the key up after a failed request, so a retry runs again. */
  release(scope: string, key: string, token: string): Promise<void>;
}

const CLAIM_PREFIX = 'claim:';
const DONE_PREFIX = 'done:';

// Returns what holds the key, or claims it (nil). One script, so two requests never both claim.
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`;

// Stores the response unless another request's claim or response holds the key (ours expired
// and was taken over); a key that expired meanwhile is written, a retry then gets the replay.
const COMPLETE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imgflowIdempotencyClaim(key: string, claim: string, ttlMs: number): Result<string | null, Context>;
    imgflowIdempotencyComplete(key: string, claim: string, response: string, ttlMs: number): Result<number, Context>;
    imgflowIdempotencyRelease(key: string, claim: string): Result<number, Context>;
  }
}

export interface IdempotencyOptions {
  readonly prefix: string;
  /**
   * How long a claim holds without an answer: longer than any request can take, so a live one is
   * never taken for dead, and short enough that an API killed mid-request frees its keys soon.
   */
  readonly claimTtlMs: number;
  /** How long a response is replayed. */
  readonly replayTtlMs: number;
}

/**
 * Idempotency keys in Redis: SET-if-absent with a TTL claims a key for the request in flight,
 * then the key holds its response. Keys are hashed with their scope, so any printable key of
 * any length up to the header's limit makes a fixed-size Redis key.
 */
export function createIdempotencyStore(redis: RedisClient, options: IdempotencyOptions): IdempotencyStore {
  redis.defineCommand('imgflowIdempotencyClaim', { numberOfKeys: 1, lua: CLAIM });
  redis.defineCommand('imgflowIdempotencyComplete', { numberOfKeys: 1, lua: COMPLETE });
  redis.defineCommand('imgflowIdempotencyRelease', { numberOfKeys: 1, lua: RELEASE });
  const keyOf = (scope: string, key: string) => `${options.prefix}:idempotency:${createHash('sha256').update(scope).update('\0').update(key).digest('hex')}`;

  return {
    async claim(scope, key) {
      const token = randomUUID();
      const current = await redis.imgflowIdempotencyClaim(keyOf(scope, key), CLAIM_PREFIX + token, options.claimTtlMs);
      if (current === null) return { kind: 'claimed', token };
      if (current.startsWith(CLAIM_PREFIX)) return { kind: 'in-progress' };
      return { kind: 'replay', response: StoredResponse.parse(JSON.parse(current.slice(DONE_PREFIX.length))) };
    },
    async complete(scope, key, token, response) {
      await redis.imgflowIdempotencyComplete(keyOf(scope, key), CLAIM_PREFIX + token, DONE_PREFIX + JSON.stringify(response), options.replayTtlMs);
    },
    async release(scope, key, token) {
      await redis.imgflowIdempotencyRelease(keyOf(scope, key), CLAIM_PREFIX + token);
    },
  };
}
