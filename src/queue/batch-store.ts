import { QueueKeys } from 'bullmq';
import type { RedisClient } from './redis-target';
import { z } from 'zod';
import { EVENTS_MAX_LEN, imageEventsKey } from './events';
import { CREATE_BATCH, READ_BATCH_SUMMARIES, RECORD_OUTCOME, REMOVE_BATCH, RESET_OUTCOME } from './batch-scripts';
import { IMAGE_QUEUE, ImageJobResult } from './jobs';
import { webhookOutboxKey, type BatchCallback } from './webhook-jobs';
import { batchIndexKeys } from './batch-index';
import { queuedFilesKey } from './queued-files';

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

/** What a list shows of a batch, from its record alone: its counters, and which files have no outcome yet. */
export interface StoredBatchSummary extends Pick<BatchRecord, 'batchId' | 'createdAt' | 'processAt'> {
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  /** The jobIds of the files still without an outcome, in input order. */
  readonly unfinished: readonly string[];
}

export interface BatchStore {
  /** Redis's clock, in ms: the base for `create`'s `notAfterMs`. */
  serverTime(): Promise<number>;
  /** Writes the record if Redis runs the write by `notAfterMs` (its own clock); false if it came too late. */
  create(batch: NewBatch, options: { notAfterMs: number }): Promise<boolean>;
  /** Removes everything `create` wrote for the batch, in one atomic step. */
  remove(batchId: string): Promise<void>;
  get(batchId: string): Promise<BatchRecord | undefined>;
  /** The summaries of several batches in one command, in their order; undefined where a record is gone. */
  summaries(batchIds: readonly string[]): Promise<(StoredBatchSummary | undefined)[]>;
  /** How many of the holder's files wait or are being processed, as counted for MAX_QUEUED_FILES_PER_KEY. */
  queuedFiles(holder: string): Promise<number>;
  /** Whether the batch exists, and whose it is: one HGET, for checks that need nothing else of it. */
  ownerOf(batchId: string): Promise<{ owner: string | undefined } | undefined>;
  recordOutcome(batchId: string, jobId: string, outcome: FileOutcome): Promise<void>;
  resetOutcome(batchId: string, jobId: string): Promise<void>;
}

function summaryOfRow(batchId: string, row: readonly string[]): StoredBatchSummary | undefined {
  const [createdAt, processAt, total, completed, failed, ...unfinished] = row;
  if (createdAt === undefined) return undefined;
  // READ_BATCH_SUMMARIES sends a missing total as '', which Number() would read as 0.
  const count = (field: string, text: string | undefined) => {
    const n = Number(text);
    if (!text || !Number.isInteger(n) || n < 0) throw new CorruptBatchError(`Expected a count in field ${field} of batch ${batchId} but received ${JSON.stringify(text)}`);
    return n;
  };
  return {
    batchId,
    createdAt,
    processAt: processAt || undefined,
    total: count('total', total),
    completed: count('completed', completed),
    failed: count('failed', failed),
    unfinished,
  };
}

/**
 * Batch state lives in one Redis hash per batch, written as files finish, so reading a batch
 * costs the same however many jobs the queue has seen, and outlives the jobs' own retention.
 *
 * Lifetimes: an unfinished batch lives `pendingTtlSeconds` from its upload (as long as its
 * inputs are kept, so a long backlog does not lose it); once every file has an outcome it lives
 * `ttlSeconds` more.
 */
export function createBatchStore(redis: RedisClient, options: { prefix: string; ttlSeconds: number; pendingTtlSeconds?: number }): BatchStore {
  const pendingTtl = Math.max(options.pendingTtlSeconds ?? 7 * 24 * 3600, options.ttlSeconds);
  const keys = new QueueKeys(options.prefix);
  const keyOf = (batchId: string) => keys.toKey(IMAGE_QUEUE, `batch:${batchId}`);
  const eventsKey = imageEventsKey(options.prefix);
  const outboxKey = webhookOutboxKey(options.prefix);
  // Defining again on a shared connection just replaces the same scripts.
  redis.defineCommand('imgflowRecordOutcome', { numberOfKeys: 5, lua: RECORD_OUTCOME });
  redis.defineCommand('imgflowResetOutcome', { numberOfKeys: 3, lua: RESET_OUTCOME });
  redis.defineCommand('imgflowCreateBatch', { numberOfKeys: 4, lua: CREATE_BATCH });
  redis.defineCommand('imgflowRemoveBatch', { numberOfKeys: 4, lua: REMOVE_BATCH });
  redis.defineCommand('imgflowReadBatchSummaries', { lua: READ_BATCH_SUMMARIES });
  const quotaKey = queuedFilesKey(options.prefix);
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
      await redis.imgflowRemoveBatch(keyOf(batchId), index.byOwner(undefined), index.expiry, quotaKey, batchId);
    },
    async queuedFiles(holder) {
      return Number((await redis.hget(quotaKey, holder)) ?? 0);
    },
    async summaries(batchIds) {
      if (batchIds.length === 0) return [];
      const rows = await redis.imgflowReadBatchSummaries(batchIds.length, ...batchIds.map(keyOf));
      return batchIds.map((batchId, i) => summaryOfRow(batchId, rows[i] ?? []));
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
