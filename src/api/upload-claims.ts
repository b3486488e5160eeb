import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Which batch-to-be holds each resumable upload, so that no upload is queued twice. */
export interface UploadClaims {
  /** Claims every id for one request, or none when any is held already (undefined); the token releases them. */
  claim(ids: readonly string[]): Promise<string | undefined>;
  /** Gives the ids up after a request that queued nothing, so they can be completed again. */
  release(ids: readonly string[], token: string): Promise<void>;
}

// All or none in one script: two requests sharing one id can never both claim it, and neither
// is left holding part of its list.
const CLAIM_ALL = `
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 1
`;

const RELEASE_ALL = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 1
`;

/**
 * Claims in Redis (SET for absent keys, in one script). `ttlMs` is the uploads' own lifetime:
 * past it the upload is gone anyway, and until then a second completion is refused.
 */
export function createUploadClaims(redis: Redis, options: { prefix: string; ttlMs: number }): UploadClaims {
  const keysOf = (ids: readonly string[]) => ids.map((id) => `${options.prefix}:resumable-claim:${id}`);
  return {
    async claim(ids) {
      const token = randomUUID();
      const claimed = await redis.eval(CLAIM_ALL, ids.length, ...keysOf(ids), token, options.ttlMs);
      return claimed === 1 ? token : undefined;
    },
    async release(ids, token) {
      await redis.eval(RELEASE_ALL, ids.length, ...keysOf(ids), token);
    },
  };
}
