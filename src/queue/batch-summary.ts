export const FILE_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'unknown'] as const;
export type FileState = (typeof FILE_STATES)[number];

export const BATCH_STATUSES = ['scheduled', 'waiting', 'processing', 'completed', 'completed-with-errors', 'failed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchProgress {
  total: number;
  completed: number;
  failed: number;
  active: number;
  /** Not started yet, or waiting for a retry after a failed attempt. */
  waiting: number;
  /** Of `waiting`, those not due yet: scheduled for later, or backing off before a retry. */
  delayed: number;
}

/**
 * Folds per-file states into the batch's status and counts. `scheduled`: the batch's stored
 * schedule is still ahead and no file has been attempted, so its 'delayed' files wait for their
 * time, not for a retry.
 */
export function summarizeBatch(states: readonly FileState[], { scheduled = false } = {}): { status: BatchStatus; progress: BatchProgress } {
  const progress: BatchProgress = { total: states.length, completed: 0, failed: 0, active: 0, waiting: 0, delayed: 0 };
  for (const state of states) {
    if (state === 'completed') progress.completed++;
    else if (state === 'failed') progress.failed++;
    else if (state === 'active') progress.active++;
    else progress.waiting++;
    if (state === 'delayed') progress.delayed++;
  }
  return { status: statusOf(progress, scheduled), progress };
}

function statusOf({ total, completed, failed, active, delayed }: BatchProgress, scheduled: boolean): BatchStatus {
  if (completed + failed === total) {
    if (failed === 0) return 'completed';
    return completed === 0 ? 'failed' : 'completed-with-errors';
  }
  if (scheduled && active === 0 && completed + failed === 0) return 'scheduled';
  const retrying = delayed > 0;
  // A file that finished, started, or waits to retry after a failed attempt means the batch is
  // under way, even though 'delayed' files count as waiting.
  return active > 0 || completed + failed > 0 || retrying ? 'processing' : 'waiting';
}
