import { QueueKeys } from 'bullmq';
import type { Redis, Result } from 'ioredis';
import { z } from 'zod';
import { BATCH_FINISHED_EVENT, EVENTS_MAX_LEN, imageEventsKey } from './events';
import { IMAGE_QUEUE, ImageJobResult } from './jobs';
import { webhookOutboxKey, type BatchCallback } from './webhook-jobs';
import { batchIndexKeys } from './batch-index';

export const BatchFile = z.object({
  jobId: z.string().min(1),
  originalName: z.string(),
  /** A file from a CSV of URLs: the line its row starts on, and the row's other columns as [column, value] pairs in order. */
  line: z.number().int().positive().optional(),
  row: z.array(z.tuple([z.string(), z.string()])).optional(),
});
export type BatchFile = z.infer<typeof BatchFile>;

const attemptsMade = z.number().int().nonnegative();
export const FileOutcome = z.discriminatedUnion('state', [
  z.object({ state: z.literal('completed'), result: ImageJobResult, attemptsMade }),
  z.object({ state: z.literal('failed'), failedReason: z.string(), attemptsMade }),
]);
export type FileOutcome = z.infer<typeof FileOutcome>;

export interface BatchRecord {
  readonly batchId: string;
  readonly createdAt: string;
  /** The id of the API key that made the batch; absent when the server had no keys. */
  readonly owner?: string | undefined;
  /** When a scheduled batch's jobs are due (ISO 8601); absent for a batch queued at once. */
  readonly processAt?: string | undefined;
  readonly files: readonly BatchFile[];
  /** Final outcome per jobId, for the files that have one. */
  readonly outcomes: ReadonlyMap<string, FileOutcome>;
}

/** A batch hash in Redis that does not hold what this code writes: read back, it is an error, not a guess. */
export class CorruptBatchError extends Error {
  override name = 'CorruptBatchError';
}

/** Parses one JSON field of a batch hash, naming the batch and the field when it does not fit. */
function parseField<T>(schema: z.ZodType<T>, batchId: string, field: string, text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CorruptBatchError(`Expected JSON in field ${field} of batch ${batchId} but received ${JSON.stringify(text.slice(0, 80))}`, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CorruptBatchError(`Field ${field} of batch ${batchId} does not fit its schema: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

// Records one file's final outcome and keeps the batch's counters in step, atomically and
// idempotently: a job that runs again after a crash overwrites its own outcome instead of
// counting twice. The call that finishes the batch announces it on the queue's event stream,
// where QueueEvents subscribers receive it like BullMQ's own events. A batch with a callback gets
// its webhook events pushed to the outbox (KEYS[3]) in this same step, and its new expiry to the
// index's expiry set (KEYS[4], see batch-index.ts); its file stops counting against its holder's
// quota of queued files (KEYS[5]), so no crash can record an
// outcome without its webhook; each event's id (msg_<batchId>_<n>) is the webhook-id.
const RECORD_OUTCOME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local field = 'f:' .. ARGV[1]
local previous = redis.call('HGET', KEYS[1], field)
if previous then redis.call('HINCRBY', KEYS[1], cjson.decode(previous).state, -1) end
redis.call('HSET', KEYS[1], field, ARGV[3])
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
local holder = redis.call('HGET', KEYS[1], 'quotaHolder')
if holder and not previous and redis.call('HINCRBY', KEYS[5], holder, -1) <= 0 then redis.call('HDEL', KEYS[5], holder) end
local counts = redis.call('HMGET', KEYS[1], 'completed', 'failed', 'total')
local completed, failed, total = tonumber(counts[1] or 0), tonumber(counts[2] or 0), tonumber(counts[3])
if completed + failed == total then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  local clock = redis.call('TIME')
  redis.call('ZADD', KEYS[4], tonumber(clock[1]) * 1000 + tonumber(ARGV[4]) * 1000, (redis.call('HGET', KEYS[1], 'owner') or '') .. ' ' .. ARGV[5])
end
if not previous and completed + failed == total then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'event', '${BATCH_FINISHED_EVENT}',
    'batchId', ARGV[5], 'completed', completed, 'failed', failed, 'total', total)
end
local url = redis.call('HGET', KEYS[1], 'callbackUrl')
if url and not previous then
  local now = redis.call('TIME')
  local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local function notify(kind, extra)
    local entry = {id = 'msg_' .. ARGV[5] .. '_' .. redis.call('HINCRBY', KEYS[1], 'webhookSeq', 1), kind = kind, batchId = ARGV[5], url = url, at = at}
    for k, v in pairs(extra) do entry[k] = v end
    redis.call('RPUSH', KEYS[3], cjson.encode(entry))
  end
  if redis.call('HGET', KEYS[1], 'callbackEvents') == 'batch,file' then notify('file', {jobId = ARGV[1], outcome = ARGV[3]}) end
  if completed + failed == total then notify('batch', {}) end
end
return {completed, failed, total}
`;

// Creates a batch record, and its entries in the owner's index (KEYS[2]) and the index's expiry
// set (KEYS[3]), only if Redis runs this by ARGV[4], a time in Redis's own clock. With a quota
// holder (ARGV[12]) its files count against the holder's queued files (KEYS[4]), and a batch that
// would take them over ARGV[13] is refused (-1 - queued): check and count in one step, so
// concurrent uploads from several API processes cannot both slip under the limit. A
// write whose reply timed out (the upload was refused) may still be run once a hung Redis
// resumes; by then its time has passed, so it leaves nothing.
const CREATE_BATCH = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if nowMs > tonumber(ARGV[4]) then return 0 end
if ARGV[12] ~= '' then
  local queued = tonumber(redis.call('HGET', KEYS[4], ARGV[12]) or 0)
  if tonumber(ARGV[13]) > 0 and queued + tonumber(ARGV[2]) > tonumber(ARGV[13]) then return -1 - queued end
  redis.call('HINCRBY', KEYS[4], ARGV[12], ARGV[2])
  redis.call('HSET', KEYS[1], 'quotaHolder', ARGV[12])
end
redis.call('HSET', KEYS[1], 'createdAt', ARGV[1], 'total', ARGV[2], 'files', ARGV[3])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'callbackUrl', ARGV[6], 'callbackEvents', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'processAt', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[9]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[11], ARGV[10])
redis.call('ZADD', KEYS[3], nowMs + tonumber(ARGV[5]) * 1000, ARGV[9] .. ' ' .. ARGV[10])
return 1
`;

// Forgets a file's outcome so it can run again (a dead letter put back on the queue); the
// batch is unfinished again, so it gets the pending lifetime back.
const RESET_OUTCOME = `
local field = 'f:' .. ARGV[1]
local previous = redis.call('HGET', KEYS[1], field)
if not previous then return 0 end
redis.call('HINCRBY', KEYS[1], cjson.decode(previous).state, -1)
redis.call('HDEL', KEYS[1], field)
redis.call('EXPIRE', KEYS[1], ARGV[2])
local holder = redis.call('HGET', KEYS[1], 'quotaHolder')
if holder then redis.call('HINCRBY', KEYS[3], holder, 1) end
local clock = redis.call('TIME')
redis.call('ZADD', KEYS[2], tonumber(clock[1]) * 1000 + tonumber(ARGV[2]) * 1000, (redis.call('HGET', KEYS[1], 'owner') or '') .. ' ' .. ARGV[3])
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imgflowRecordOutcome(
      batchKey: string,
      eventsKey: string,
      outboxKey: string,
      expiryKey: string,
      quotaKey: string,
      jobId: string,
      state: string,
      outcome: string,
      ttlSeconds: number,
      batchId: string,
      maxEvents: number,
    ): Result<[number, number, number] | null, Context>;
    imgflowResetOutcome(batchKey: string, expiryKey: string, quotaKey: string, jobId: string, ttlSeconds: number, batchId: string): Result<number, Context>;
    imgflowCreateBatch(
      batchKey: string, indexKey: string, expiryKey: string, quotaKey: string,
      createdAt: string, total: number, files: string, notAfterMs: number, ttlSeconds: number, callbackUrl: string, callbackEvents: string, processAt: string, owner: string, batchId: string, createdAtMs: number,
      quotaHolder: string, maxQueued: number,
    ): Result<number, Context>;
  }
}

export interface NewBatch {
  readonly batchId: string;
  readonly createdAt: string;
  readonly processAt?: string | undefined;
  readonly files: readonly BatchFile[];
  readonly callback?: BatchCallback | undefined;
  /** The API key id that makes it; only that key may read it back. */
  readonly owner?: string | undefined;
  /** Whose queued files it counts against (MAX_QUEUED_FILES_PER_KEY), and their limit; absent: not counted. */
  readonly quota?: QueuedFilesQuota | undefined;
}

export interface QueuedFilesQuota {
  /** The API key id, or the client's address on a server without keys. */
  readonly holder: string;
  readonly max: number;
}

/** A batch that would take its holder over MAX_QUEUED_FILES_PER_KEY; nothing was written. */
export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  constructor(
    readonly max: number,
    readonly queued: number,
    readonly requested: number,
  ) {
    super(`Expected at most ${max} files waiting or being processed per client, but ${queued} are and this request adds ${requested}; retry once some have finished`);
  }
}

export interface BatchStore {
  /** Redis's clock, in ms: the base for `create`'s `notAfterMs`. */
  serverTime(): Promise<number>;
  /** Writes the record if Redis runs the write by `notAfterMs` (its own clock); false if it came too late. */
  create(batch: NewBatch, options: { notAfterMs: number }): Promise<boolean>;
  remove(batchId: string): Promise<void>;
  get(batchId: string): Promise<BatchRecord | undefined>;
  /** How many of the holder's files wait or are being processed, as counted for MAX_QUEUED_FILES_PER_KEY. */
  queuedFiles(holder: string): Promise<number>;
  /** Whether the batch exists, and whose it is: one HGET, for checks that need nothing else of it. */
  ownerOf(batchId: string): Promise<{ owner: string | undefined } | undefined>;
  recordOutcome(batchId: string, jobId: string, outcome: FileOutcome): Promise<void>;
  resetOutcome(batchId: string, jobId: string): Promise<void>;
}

/**
 * Batch state lives in one Redis hash per batch, written as files finish, so reading a batch
 * costs the same however many jobs the queue has seen, and outlives the jobs' own retention.
 *
 * Lifetimes: an unfinished batch lives `pendingTtlSeconds` from its upload (as long as its
 * inputs are kept, so a long backlog does not lose it); once every file has an outcome it lives
 * `ttlSeconds` more.
 */
export function createBatchStore(redis: Redis, options: { prefix: string; ttlSeconds: number; pendingTtlSeconds?: number }): BatchStore {
  const pendingTtl = Math.max(options.pendingTtlSeconds ?? 7 * 24 * 3600, options.ttlSeconds);
  const keys = new QueueKeys(options.prefix);
  const keyOf = (batchId: string) => keys.toKey(IMAGE_QUEUE, `batch:${batchId}`);
  const eventsKey = imageEventsKey(options.prefix);
  const outboxKey = webhookOutboxKey(options.prefix);
  // Defining again on a shared connection just replaces the same scripts.
  redis.defineCommand('imgflowRecordOutcome', { numberOfKeys: 5, lua: RECORD_OUTCOME });
  redis.defineCommand('imgflowResetOutcome', { numberOfKeys: 3, lua: RESET_OUTCOME });
  redis.defineCommand('imgflowCreateBatch', { numberOfKeys: 4, lua: CREATE_BATCH });
  const quotaKey = keys.toKey(IMAGE_QUEUE, 'queued-files');
  const index = batchIndexKeys(options.prefix);

  return {
    async serverTime() {
      const [seconds, micros] = await redis.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    },
    async create({ batchId, createdAt, processAt, files, callback, owner, quota }, { notAfterMs }) {
      const [url, events] = callback ? [callback.url, callback.events] : ['', ''];
      // A scheduled batch is pending from its due time on, not from its upload.
      const ttl = pendingTtl + (processAt ? Math.max(0, Math.ceil((Date.parse(processAt) - Date.parse(createdAt)) / 1000)) : 0);
      const created = await redis.imgflowCreateBatch(
        keyOf(batchId), index.byOwner(owner), index.expiry, quotaKey,
        createdAt, files.length, JSON.stringify(files), notAfterMs, ttl, url, events, processAt ?? '', owner ?? '', batchId, Date.parse(createdAt),
        quota?.holder ?? '', quota?.max ?? 0,
      );
      if (created < 0 && quota) throw new QuotaExceededError(quota.max, -1 - created, files.length);
      return created === 1;
    },
    async remove(batchId) {
      // Its files never ran: give their places in the holder's quota back.
      const [holder, total] = await redis.hmget(keyOf(batchId), 'quotaHolder', 'total');
      const multi = redis.multi().del(keyOf(batchId));
      if (holder) multi.hincrby(quotaKey, holder, -Number(total));
      await multi.exec();
    },
    async queuedFiles(holder) {
      return Number((await redis.hget(quotaKey, holder)) ?? 0);
    },
    async get(batchId) {
      const hash = await redis.hgetall(keyOf(batchId));
      if (!hash.files || !hash.createdAt) return undefined;
      const outcomes = new Map<string, FileOutcome>();
      for (const [field, value] of Object.entries(hash)) {
        if (field.startsWith('f:')) outcomes.set(field.slice(2), parseField(FileOutcome, batchId, field, value));
      }
      return { batchId, createdAt: hash.createdAt, owner: hash.owner, processAt: hash.processAt, files: parseField(z.array(BatchFile), batchId, 'files', hash.files), outcomes };
    },
    async ownerOf(batchId) {
      const [createdAt, owner] = await redis.hmget(keyOf(batchId), 'createdAt', 'owner');
      return createdAt === null ? undefined : { owner: owner ?? undefined };
    },
    async recordOutcome(batchId, jobId, outcome) {
      await redis.imgflowRecordOutcome(
        keyOf(batchId),
        eventsKey,
        outboxKey,
        index.expiry,
        quotaKey,
        jobId,
        outcome.state,
        JSON.stringify(outcome),
        options.ttlSeconds,
        batchId,
        EVENTS_MAX_LEN,
      );
    },
    async resetOutcome(batchId, jobId) {
      await redis.imgflowResetOutcome(keyOf(batchId), index.expiry, quotaKey, jobId, pendingTtl, batchId);
    },
  };
}
