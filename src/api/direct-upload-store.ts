import type { Result } from 'ioredis';
import { z } from 'zod';
import { directUploadFileKey, directUploadKey } from '../queue/direct-upload-keys';
import type { RedisClient } from '../queue/redis-target';

export const DirectUploadSession = z.object({
  uploadId: z.uuid(),
  expiresAt: z.string(),
  /** The API key that started it; absent when the server has no keys. */
  owner: z.string().optional(),
  files: z.array(z.object({ fileId: z.uuid(), name: z.string(), size: z.number().int().positive(), contentType: z.string() })),
});
export type DirectUploadSession = z.infer<typeof DirectUploadSession>;

export type CompletionClaim = 'claimed' | 'taken' | 'missing';

export interface DirectUploadStore {
  /** Records a session and holds its files' objects against the orphan sweep, for `ttlMs`. */
  create(session: DirectUploadSession, ttlMs: number): Promise<void>;
  get(uploadId: string): Promise<DirectUploadSession | undefined>;
  /** The one completion of a session: `taken` when another one ran or is running, `missing` when it expired or never was. */
  claim(uploadId: string): Promise<CompletionClaim>;
  /** Gives the claim up after a completion that can be tried again (a file not there yet, an outage). */
  release(uploadId: string): Promise<void>;
  /** After its batch is queued: its jobs hold the objects now, and the claim stays until the session expires, so a second completion is refused. */
  completed(session: DirectUploadSession): Promise<void>;
  /** Forgets a session whose files were refused (and deleted). */
  drop(session: DirectUploadSession): Promise<void>;
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    claimDirectUpload(session: string, claim: string, pendingTtlMs: number): Result<CompletionClaim, Context>;
    keepDirectUploadClaim(session: string, claim: string): Result<number, Context>;
  }
}

// One script, so two completions never both claim. A claim lasts a request's time at most (an
// API killed mid-completion must not lock the session for its whole life) until kept below.
const CLAIM = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 'missing' end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', math.min(ttl, tonumber(ARGV[1]))) then return 'claimed' end
return 'taken'
`;

// Once queued, the claim lives exactly as long as the session it claims.
const KEEP = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return ttl
`;

export interface DirectUploadStoreOptions {
  readonly prefix: string;
  /** How long a completion under way holds its claim: longer than any completion takes. */
  readonly pendingTtlMs: number;
}

export function createDirectUploadStore(redis: RedisClient, options: DirectUploadStoreOptions): DirectUploadStore {
  const key = (uploadId: string) => directUploadKey(options.prefix, uploadId);
  const claimKey = (uploadId: string) => `${key(uploadId)}:claim`;
  const fileKeys = (session: DirectUploadSession) => session.files.map((f) => directUploadFileKey(options.prefix, f.fileId));
  redis.defineCommand('claimDirectUpload', { numberOfKeys: 2, lua: CLAIM });
  redis.defineCommand('keepDirectUploadClaim', { numberOfKeys: 2, lua: KEEP });
  return {
    async create(session, ttlMs) {
      const multi = redis.multi().set(key(session.uploadId), JSON.stringify(session), 'PX', ttlMs);
      for (const fileKey of fileKeys(session)) multi.set(fileKey, session.uploadId, 'PX', ttlMs);
      await multi.exec();
    },
    async get(uploadId) {
      const text = await redis.get(key(uploadId));
      return text === null ? undefined : DirectUploadSession.parse(JSON.parse(text));
    },
    claim: (uploadId) => redis.claimDirectUpload(key(uploadId), claimKey(uploadId), options.pendingTtlMs),
    release: (uploadId) => redis.del(claimKey(uploadId)).then(() => undefined),
    async completed(session) {
      await redis.keepDirectUploadClaim(key(session.uploadId), claimKey(session.uploadId));
      await redis.del(...fileKeys(session));
    },
    drop: (session) => redis.del(key(session.uploadId), claimKey(session.uploadId), ...fileKeys(session)).then(() => undefined),
  };
}
