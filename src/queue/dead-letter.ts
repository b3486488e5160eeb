import type { Job, Queue } from 'bullmq';
import type { BatchStore } from './batch-store';
import { IMAGE_JOB, ImageJobData, jobOptions, type ImageJobName, type ImageJobResult, type ImageQueue, type JobPolicy } from './jobs';

export interface DeadLetterData {
  readonly job: ImageJobData;
  readonly failedReason: string;
  readonly attemptsMade: number;
  readonly failedAt: string;
}

export const DEAD_LETTER_JOB = 'dead-letter';
export type DeadLetterQueue = Queue<DeadLetterData, void, typeof DEAD_LETTER_JOB>;

export interface DeadLetter extends DeadLetterData {
  readonly id: string;
}

export type FailedImageJob = Pick<Job<ImageJobData, ImageJobResult, ImageJobName>, 'id' | 'data' | 'failedReason' | 'attemptsMade' | 'finishedOn'>;

/**
 * Copies a job that failed for good, with its data, reason and attempt count, to the
 * dead-letter queue and records the failure in its batch. Safe to repeat: a letter for this
 * same failure (same finishedOn) is left alone, one from an earlier failure (before a retry) is
 * replaced. The batch outcome is written first, so a crash in between is mended by sending
 * again. Returns whether a letter was written.
 */
export async function sendToDeadLetter(
  deps: { deadLetters: DeadLetterQueue; batches: BatchStore },
  job: FailedImageJob,
): Promise<boolean> {
  const jobId = job.id;
  if (jobId === undefined) throw new Error(`Expected a failed job with an id, but job of batch ${job.data.batchId} has none`);
  const failedAt = new Date(job.finishedOn ?? Date.now()).toISOString();
  const existing = await deps.deadLetters.getJob(jobId);
  if (existing?.data.failedAt === failedAt) return false;
  await deps.batches.recordOutcome(job.data.batchId, jobId, { state: 'failed', failedReason: job.failedReason, attemptsMade: job.attemptsMade });
  await existing?.remove();
  await deps.deadLetters.add(
    DEAD_LETTER_JOB,
    { job: job.data, failedReason: job.failedReason, attemptsMade: job.attemptsMade, failedAt },
    // Nothing consumes this queue: dead letters wait for an operator, so they are never removed automatically.
    { jobId, removeOnComplete: false, removeOnFail: false },
  );
  return true;
}

export async function listDeadLetters(deadLetters: DeadLetterQueue, offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }> {
  const [total, jobs] = await Promise.all([
    deadLetters.getWaitingCount(),
    deadLetters.getWaiting(offset, offset + limit - 1),
  ]);
  return { total, items: jobs.flatMap((j) => (j.id === undefined ? [] : [{ id: j.id, ...j.data }])) };
}

/**
 * Puts a dead letter back on the image queue under its original job id, through the same job
 * options as a new upload. Order matters for "nothing lost": the job is re-added before the
 * dead letter is removed, so a crash in between leaves a duplicate entry, never a lost one.
 * Returns false when there is no such dead letter.
 */
export async function retryDeadLetter(
  deps: { deadLetters: DeadLetterQueue; queue: ImageQueue; batches: BatchStore; policy: JobPolicy },
  id: string,
): Promise<boolean> {
  const letter = await deps.deadLetters.getJob(id);
  if (!letter) return false;
  const parsed = ImageJobData.safeParse(letter.data.job);
  if (!parsed.success) throw new Error(`Dead letter ${id} holds malformed job data: ${parsed.error.message}`);
  const data = parsed.data;
  await deps.batches.resetOutcome(data.batchId, id);
  await deps.queue.remove(id); // the failed original, if retention has not removed it yet
  await deps.queue.add(IMAGE_JOB, data, jobOptions(deps.policy, id));
  await letter.remove();
  return true;
}
