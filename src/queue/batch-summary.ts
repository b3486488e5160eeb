export const FILE_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'unknown'] as const;
export type FileState = (typeof FILE_STATES)[number];

export const BATCH_STATUSES = ['waiting', 'processing', 'completed', 'completed-with-errors', 'failed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchProgress {
  total: number;
  completed: number;
  failed: number;
  active: number;
  /** Not started yet, or waiting for a retry after a failed attempt. */
  waiting: number;
}

/** Folds per-file states into the batch's status and counts. */
export function summarizeBatch(states: readonly FileState[]): { status: BatchStatus; progress: BatchProgress } {
  const progress: BatchProgress = { total: states.length, completed: 0, failed: 0, active: 0, waiting: 0 };
  for (const state of states) {
    if (state === 'completed') progress.completed++;
    else if (state === 'failed') progress.failed++;
    else if (state === 'active') progress.active++;
    else progress.waiting++;
  }
  return { status: statusOf(progress, states.includes('delayed')), progress };
}

function statusOf({ total, completed, failed, active }: BatchProgress, retrying: boolean): BatchStatus {
  if (completed + failed === total) {
    if (failed === 0) return 'completed';
    return completed === 0 ? 'failed' : 'completed-with-errors';
  }
  // A file that finished, started, or waits to retry after a failed attempt means the batch is
  // under way, even though 'delayed' files count as waiting.
  return active > 0 || completed + failed > 0 || retrying ? 'processing' : 'waiting';
}
