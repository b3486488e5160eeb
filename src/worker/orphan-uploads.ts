import type { RedisClient } from '../queue/redis-target';
import type { Logger } from 'pino';
import type { FileStore } from '../storage/file-store';
import { runEvery, type Periodic } from '../run-every';

/** The shape of a stored name (src/api/multipart.ts); anything else is left to age-based retention. */
const STORED_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface OrphanSweepDeps {
  readonly store: FileStore;
  /** A file modified more recently is never taken for unreferenced, as it may belong to an upload not yet enqueued; only a completed job's is removed younger. */
  readonly graceMs: number;
  readonly redis: RedisClient;
  /** The image queue, the dead-letter queue and the direct uploads' file keys: a job, a letter or a live session naming the file keeps it. */
  readonly queues: readonly { toKey(id: string): string }[];
  /** The image queue's completed set: a file whose job is in it is done with, whatever its age. */
  readonly completedKey: string;
}

export interface OrphanSweepResult {
  readonly removed: readonly string[];
  readonly bytes: number;
}

/**
 * Deletes uploads no job needs: the files of a request whose API died before it enqueued them,
 * of a direct upload never completed (both once past the grace period), and of a completed job
 * whose worker died before it deleted the file (at once). A file is referenced iff a job or a
 * dead letter has its name as id (enqueueBatch makes the job id the stored name; dead letters
 * and retries keep it), or a live direct-upload session holds its key. Checked `batchSize` files
 * per MULTI of EXISTS and ZSCORE: one round trip each, and one snapshot, so a dead-letter retry
 * (job re-added before its letter is removed) is always seen holding one of the two.
 */
export async function sweepOrphanUploads(deps: OrphanSweepDeps, { now = Date.now(), batchSize = 500 } = {}): Promise<OrphanSweepResult> {
  const cutoff = now - deps.graceMs;
  const candidates: { name: string; size: number; pastGrace: boolean }[] = [];
  for await (const { name, size, modifiedMs } of deps.store.list()) {
    if (STORED_NAME.test(name)) candidates.push({ name, size, pastGrace: modifiedMs < cutoff });
  }

  const removed: string[] = [];
  let bytes = 0;
  for (let start = 0; start < candidates.length; start += batchSize) {
    const batch = candidates.slice(start, start + batchSize);
    const multi = deps.redis.multi();
    for (const { name } of batch) multi.exists(...deps.queues.map((q) => q.toKey(name))).zscore(deps.completedKey, name);
    const replies = await multi.exec();
    if (!replies) throw new Error('Expected EXISTS and ZSCORE replies from the orphan-upload MULTI but it was aborted');
    for (const [i, file] of batch.entries()) {
      const [existsErr, references] = replies[2 * i] ?? [new Error('missing reply'), undefined];
      const [scoreErr, completedAt] = replies[2 * i + 1] ?? [new Error('missing reply'), undefined];
      if (existsErr ?? scoreErr) throw existsErr ?? scoreErr;
      const orphan = completedAt !== null || (references === 0 && file.pastGrace);
      if (!orphan) continue;
      await deps.store.remove(file.name);
      removed.push(file.name);
      bytes += file.size;
    }
  }
  return { removed, bytes };
}

/**
 * Sweeps at start-up, then every `everyMs` (0: never), one sweep at a time. `stop` waits for
 * a sweep under way, so the Redis connection it uses can be closed next.
 */
export function startOrphanUploadSweep(deps: OrphanSweepDeps, logger: Logger, everyMs: number): Periodic {
  if (everyMs === 0) return { stop: async () => undefined };
  const sweep = async () => {
    const { removed, bytes } = await sweepOrphanUploads(deps);
    // The names are generated UUIDs, no client data; the first hundred are enough to trace a crash.
    if (removed.length > 0) logger.info({ removed: removed.length, bytes, files: removed.slice(0, 100) }, 'orphan uploads removed');
  };
  return runEvery(everyMs, sweep, { runNow: true, onError: (err) => logger.warn({ err }, 'orphan upload sweep failed') });
}
