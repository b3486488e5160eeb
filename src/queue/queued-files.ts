import { QueueKeys } from 'bullmq';
import { RECONCILE_QUEUED_FILES } from './batch-scripts';
import { IMAGE_QUEUE } from './jobs';
import type { RedisClient } from './redis-target';

/** The hash of every holder's queued-files count (MAX_QUEUED_FILES_PER_KEY), which the batch scripts keep. */
export const queuedFilesKey = (prefix: string) => new QueueKeys(prefix).toKey(IMAGE_QUEUE, 'queued-files');

/** A holder whose queued-files count was recounted to a different value. */
export interface QueuedFilesCorrection {
  readonly holder: string;
  readonly before: number;
  readonly after: number;
}

/**
 * How long a new batch's files count by its record alone: its jobs are added after the record
 * (enqueue-batch.ts), within the producer's command timeout. Long enough for that, short enough
 * that the places of a batch whose jobs never came are given back soon.
 */
const RECOUNT_GRACE_MS = 60_000;

/**
 * Recounts every holder's queued files from the batch records and their jobs, one atomic script
 * per holder (RECONCILE_QUEUED_FILES), and returns the counts that were off. The scripts keep the
 * count in step with every write; this mends what no write accounts for: a crash between two of
 * them, a batch that expired unfinished, a job removed before its outcome was recorded.
 */
export async function reconcileQueuedFiles(
  redis: RedisClient,
  prefix: string,
  {
    graceMs = RECOUNT_GRACE_MS,
    // One holder's recount failing (a corrupt record) must not keep the others from theirs.
    onError = (holder: string, err: unknown): void => {
      throw new Error(`Expected the queued files of ${holder} to be recounted but the script failed`, { cause: err });
    },
  } = {},
): Promise<QueuedFilesCorrection[]> {
  redis.defineCommand('imgflowReconcileQueuedFiles', { numberOfKeys: 2, lua: RECONCILE_QUEUED_FILES });
  const keys = new QueueKeys(prefix);
  const countsKey = queuedFilesKey(prefix);
  const corrections: QueuedFilesCorrection[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(countsKey, cursor, 'COUNT', 100);
    cursor = next;
    const holders = flat.filter((_, i) => i % 2 === 0);
    const counts = await Promise.allSettled(
      holders.map((holder) =>
        redis.imgflowReconcileQueuedFiles(countsKey, keys.toKey(IMAGE_QUEUE, 'completed'), holder, keys.toKey(IMAGE_QUEUE, 'batch:'), keys.toKey(IMAGE_QUEUE, ''), graceMs),
      ),
    );
    for (const [i, outcome] of counts.entries()) {
      const holder = holders[i] as string;
      if (outcome.status === 'rejected') onError(holder, outcome.reason);
      else if (outcome.value[0] !== outcome.value[1]) corrections.push({ holder, before: outcome.value[0], after: outcome.value[1] });
    }
  } while (cursor !== '0');
  return corrections;
}
