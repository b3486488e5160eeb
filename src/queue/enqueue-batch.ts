import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis-target';
import type { ImageType, PipelineSpec } from '../pipeline';
import type { BatchFile, BatchStore, NewBatch } from './batch-store';
import { assertReady, PRODUCER_COMMAND_TIMEOUT_MS, QueueUnavailableError } from './connection';
import { IMAGE_JOB, jobOptions, type ImageJobData, type ImageQueue, type JobPlacement, type JobPolicy } from './jobs';

export interface UploadedImage {
  readonly originalName: string;
  readonly storedName: string;
  readonly size: number;
  readonly type: ImageType;
}

export interface EnqueuedBatch {
  readonly batchId: string;
  readonly createdAt: string;
  readonly files: BatchFile[];
}

/** Where the batch's jobs go; with `processAt` (when `delayMs` ends) kept in the batch record, so its status can tell a schedule from a retry. */
export interface BatchPlacement extends JobPlacement, Pick<NewBatch, 'processAt' | 'callback' | 'owner' | 'quota'> {}

export interface EnqueueDeps {
  readonly queue: ImageQueue;
  readonly redis: RedisClient;
  readonly batches: BatchStore;
  readonly policy: JobPolicy;
}

// The record's write must run within this long of Redis reading its clock. Shorter than the
// reply timeout, so a write Redis runs in time has this margin to get its reply back; one it
// runs later (a hung Redis resuming after the upload was refused) writes nothing.
const RECORD_WINDOW_MS = PRODUCER_COMMAND_TIMEOUT_MS - 500;

/** One job of a batch: its id, its entry in the batch record, and its data but the batch's id and spec. */
export interface BatchEntry {
  readonly jobId: string;
  readonly file: BatchFile;
  readonly input: DistributiveOmit<ImageJobData, 'batchId' | 'spec'>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Records a batch of uploads and adds one job per image (enqueueEntries). */
export async function enqueueBatch(deps: EnqueueDeps, images: readonly UploadedImage[], spec: PipelineSpec, placement: BatchPlacement = {}): Promise<EnqueuedBatch> {
  // The job id is the stored name, so the orphan sweep (src/worker/orphan-uploads.ts) knows a file is still wanted from one EXISTS.
  const entries = images.map((image): BatchEntry => ({
    jobId: image.storedName,
    file: { jobId: image.storedName, originalName: image.originalName },
    input: { inputFile: image.storedName, originalName: image.originalName, type: image.type, size: image.size },
  }));
  return enqueueEntries(deps, entries, spec, placement);
}

/**
 * Records a batch and adds one job per entry, all or nothing: BullMQ's addBulk is a single
 * MULTI, and if it fails the batch record written just before is removed again. The record
 * goes first and only counts if Redis writes it in time, so a refused upload whose write Redis
 * runs late leaves no record, and its jobs are never sent.
 */
export async function enqueueEntries(deps: EnqueueDeps, entries: readonly BatchEntry[], spec: PipelineSpec, placement: BatchPlacement = {}): Promise<EnqueuedBatch> {
  assertReady(deps.redis);
  const batchId = randomUUID();
  const createdAt = new Date().toISOString();
  const files: BatchFile[] = entries.map((entry) => entry.file);
  const notAfterMs = (await deps.batches.serverTime()) + RECORD_WINDOW_MS;
  if (!(await deps.batches.create({ batchId, createdAt, processAt: placement.processAt, files, callback: placement.callback, owner: placement.owner, quota: placement.quota }, { notAfterMs }))) {
    throw new QueueUnavailableError('Redis answered too late to record the batch');
  }
  try {
    await deps.queue.addBulk(
      entries.map(({ input, jobId }) => ({
        name: IMAGE_JOB,
        data: { ...input, batchId, spec },
        opts: jobOptions(deps.policy, jobId, placement),
      })),
    );
  } catch (err) {
    // A reply lost after the MULTI committed (a timeout, a reset) looks like a failure too;
    // undoing then would strand queued jobs without their batch and inputs. One job tells.
    const [first] = entries;
    const committed = first !== undefined && (await deps.queue.getJob(first.jobId).then(Boolean, () => false));
    if (committed) return { batchId, createdAt, files };
    await deps.batches.remove(batchId).catch(() => undefined);
    throw err;
  }
  return { batchId, createdAt, files };
}
