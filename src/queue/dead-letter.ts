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

/**
 * Copies a job that failed for good, with its data, reason and attempt count, to the
 * dead-letter queue. Keyed by the job's own id, so sending the same job twice is harmless.
 */
export async function sendToDeadLetter(
  deadLetters: DeadLetterQueue,
  job: Job<ImageJobData, ImageJobResult, ImageJobName>,
  failedReason: string,
): Promise<void> {
  await deadLetters.add(
    DEAD_LETTER_JOB,
    { job: job.data, failedReason, attemptsMade: job.attemptsMade, failedAt: new Date().toISOString() },
    // Nothing consumes this queue: dead letters wait for an operator, so they are never removed automatically.
    { jobId: job.id, removeOnComplete: false, removeOnFail: false },
  );
}

export async function listDeadLetters(deadLetters: DeadLetterQueue, offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }> {
  const [total, jobs] = await Promise.all([
    deadLetters.getWaitingCount(),
    deadLetters.getWaiting(offset, offset + limit - 1),
  ]);
  return { total, items: jobs.filter((j) => j.id !== undefined).map((j) => ({ id: j.id as string, ...j.data })) };
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
  const data = ImageJobData.parse(letter.data.job);
  await deps.batches.resetOutcome(data.batchId, id);
  await deps.queue.remove(id); // the failed original, if retention has not removed it yet
  await deps.queue.add(IMAGE_JOB, data, jobOptions(deps.policy, id));
  await letter.remove();
  return true;
}
