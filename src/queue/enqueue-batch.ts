import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ImageType, PipelineSpec } from '../pipeline';
import type { BatchFile, BatchStore } from './batch-store';
import { assertReady } from './connection';
import { IMAGE_JOB, jobOptions, type ImageQueue, type JobPolicy } from './jobs';

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

export interface EnqueueDeps {
  readonly queue: ImageQueue;
  readonly redis: Redis;
  readonly batches: BatchStore;
  readonly policy: JobPolicy;
}

/**
 * Records a batch and adds one job per image, all or nothing: BullMQ's addBulk is a single
 * MULTI, and if it fails the batch record written just before is removed again.
 */
export async function enqueueBatch(deps: EnqueueDeps, images: readonly UploadedImage[], spec: PipelineSpec): Promise<EnqueuedBatch> {
  assertReady(deps.redis);
  const batchId = randomUUID();
  const createdAt = new Date().toISOString();
  // The job id is the stored name, so the orphan sweep (src/worker/orphan-uploads.ts) knows a file is still wanted from one EXISTS.
  const files = images.map((image) => ({ jobId: image.storedName, originalName: image.originalName }));
  await deps.batches.create({ batchId, createdAt, files });
  try {
    await deps.queue.addBulk(
      images.map((image, i) => {
        const { jobId } = files[i] as BatchFile;
        return {
          name: IMAGE_JOB,
          data: { batchId, inputFile: image.storedName, originalName: image.originalName, type: image.type, size: image.size, spec },
          opts: jobOptions(deps.policy, jobId),
        };
      }),
    );
  } catch (err) {
    // A reply lost after the MULTI committed (a timeout, a reset) looks like a failure too;
    // undoing then would strand queued jobs without their batch and inputs. One job tells.
    const committed = await deps.queue.getJob((files[0] as BatchFile).jobId).then(Boolean, () => false);
    if (committed) return { batchId, createdAt, files };
    await deps.batches.remove(batchId).catch(() => undefined);
    throw err;
  }
  return { batchId, createdAt, files };
}
