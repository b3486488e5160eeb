import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../queue/redis-target';

/** Which batch-to-be holds each resumable upload, so that no upload is queued twice. */
export interface UploadClaims {
  /** Claims every id for one request, or none when any is held already (undefined); the token confirms or releases them. */
  claim(ids: readonly string[]): Promise<string | undefined>;
  /** The batch is queued: the ids stay claimed for as long as an upload could exist. */
  confirm(ids: readonly string[], token: string): Promise<void>;
  /** Gives the ids up after a request that queued nothing, so they can be completed again. */
  release(ids: readonly string[], token: string): Promise<void>;
}

export interface UploadClaimOptions {
  readonly prefix: string;
  /** A claim whose request has not queued its batch yet: longer than any completion takes, short enough that an API killed mid-request frees its uploads soon. */
  readonly pendingTtlMs: number;
  /** A confirmed claim: the uploads' own lifetime, past which an id is unknown anyway. */
  readonly usedTtlMs: number;
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

const CONFIRM_ALL = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) end
end
return 1
`;

const RELEASE_ALL = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 1
`;

/**
 * What `owner` claims for `ids`: claims are per API key, so another key's attempt on an upload
 * (refused afterwards as UPLOAD_NOT_FOUND) never holds, nor finds held, the owner's claim; a 409
 * would tell it the upload exists. Two keys cannot both queue one upload: only its owner passes
 * the check that follows the claim.
 */
export function claimIdsOf(ids: readonly string[], owner: string | undefined): string[] {
  return owner === undefined ? [...ids] : ids.map((id) => `${owner}:${id}`);
}

/** Claims in Redis: keys set only where absent, in one script, holding the claiming request's token. */
export function createUploadClaims(redis: RedisClient, options: UploadClaimOptions): UploadClaims {
  const keysOf = (ids: readonly string[]) => ids.map((id) => `${options.prefix}:resumable-claim:${id}`);
  return {
    async claim(ids) {
      const token = randomUUID();
      const claimed = await redis.eval(CLAIM_ALL, ids.length, ...keysOf(ids), token, options.pendingTtlMs);
      return claimed === 1 ? token : undefined;
    },
    async confirm(ids, token) {
      await redis.eval(CONFIRM_ALL, ids.length, ...keysOf(ids), token, options.usedTtlMs);
    },
    async release(ids, token) {
      await redis.eval(RELEASE_ALL, ids.length, ...keysOf(ids), token);
    },
  };
}
