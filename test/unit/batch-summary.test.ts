import { summarizeBatch, type BatchStatus, type FileState } from '../../src/queue/batch-summary';

describe('summarizeBatch', () => {
  it.each<[FileState[], BatchStatus, { completed: number; failed: number; active: number; waiting: number; delayed?: number }]>([
    [['waiting'], 'waiting', { completed: 0, failed: 0, active: 0, waiting: 1 }],
    [['waiting', 'waiting', 'waiting'], 'waiting', { completed: 0, failed: 0, active: 0, waiting: 3 }],
    [['active', 'waiting'], 'processing', { completed: 0, failed: 0, active: 1, waiting: 1 }],
    [['completed', 'waiting'], 'processing', { completed: 1, failed: 0, active: 0, waiting: 1 }],
    [['failed', 'waiting'], 'processing', { completed: 0, failed: 1, active: 0, waiting: 1 }],
    // A file waiting to retry after a failed attempt has started; so has its batch.
    [['delayed', 'waiting'], 'processing', { completed: 0, failed: 0, active: 0, waiting: 2, delayed: 1 }],
    [['delayed'], 'processing', { completed: 0, failed: 0, active: 0, waiting: 1, delayed: 1 }],
    [['completed', 'active', 'delayed', 'waiting'], 'processing', { completed: 1, failed: 0, active: 1, waiting: 2, delayed: 1 }],
    [['completed'], 'completed', { completed: 1, failed: 0, active: 0, waiting: 0 }],
    [['completed', 'completed', 'completed'], 'completed', { completed: 3, failed: 0, active: 0, waiting: 0 }],
    [['completed', 'failed'], 'completed-with-errors', { completed: 1, failed: 1, active: 0, waiting: 0 }],
    [['failed', 'completed', 'completed'], 'completed-with-errors', { completed: 2, failed: 1, active: 0, waiting: 0 }],
    [['failed'], 'failed', { completed: 0, failed: 1, active: 0, waiting: 0 }],
    [['failed', 'failed'], 'failed', { completed: 0, failed: 2, active: 0, waiting: 0 }],
    // A job that vanished (retention, lost key) is never counted as finished.
    [['unknown', 'completed'], 'processing', { completed: 1, failed: 0, active: 0, waiting: 1 }],
  ])('folds %j into %s', (states, status, counts) => {
    expect(summarizeBatch(states)).toEqual({ status, progress: { total: states.length, delayed: 0, ...counts } });
  });

  // 'delayed' files wait either for their schedule or for a retry; only the stored schedule tells which.
  it.each<[FileState[], boolean, BatchStatus]>([
    [['delayed', 'delayed'], true, 'scheduled'],
    [['delayed', 'delayed'], false, 'processing'],
    [['waiting', 'delayed'], true, 'scheduled'],
    [['active', 'delayed'], true, 'processing'],
    [['completed', 'delayed'], true, 'processing'],
    [['failed', 'failed'], true, 'failed'],
    [['completed'], true, 'completed'],
  ])('folds %j with scheduled=%s into %s', (states, scheduled, status) => {
    expect(summarizeBatch(states, { scheduled }).status).toBe(status);
  });

  it('counts delayed files among the waiting ones', () => {
    expect(summarizeBatch(['delayed', 'delayed', 'waiting'], { scheduled: true }).progress).toEqual({ total: 3, completed: 0, failed: 0, active: 0, waiting: 3, delayed: 2 });
  });

  it('counts every file exactly once', () => {
    const states: FileState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'unknown'];
    const { progress } = summarizeBatch(states);
    expect(progress.completed + progress.failed + progress.active + progress.waiting).toBe(progress.total);
  });
});
