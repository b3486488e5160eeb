import { summarizeBatch, type BatchStatus, type FileState } from '../../src/queue/batch-summary';

describe('summarizeBatch', () => {
  it.each<[FileState[], BatchStatus, { completed: number; failed: number; active: number; waiting: number }]>([
    [['waiting'], 'waiting', { completed: 0, failed: 0, active: 0, waiting: 1 }],
    [['waiting', 'waiting', 'waiting'], 'waiting', { completed: 0, failed: 0, active: 0, waiting: 3 }],
    [['active', 'waiting'], 'processing', { completed: 0, failed: 0, active: 1, waiting: 1 }],
    [['completed', 'waiting'], 'processing', { completed: 1, failed: 0, active: 0, waiting: 1 }],
    [['failed', 'waiting'], 'processing', { completed: 0, failed: 1, active: 0, waiting: 1 }],
    // A file waiting to retry after a failed attempt has started; so has its batch.
    [['delayed', 'waiting'], 'processing', { completed: 0, failed: 0, active: 0, waiting: 2 }],
    [['delayed'], 'processing', { completed: 0, failed: 0, active: 0, waiting: 1 }],
    [['completed', 'active', 'delayed', 'waiting'], 'processing', { completed: 1, failed: 0, active: 1, waiting: 2 }],
    [['completed'], 'completed', { completed: 1, failed: 0, active: 0, waiting: 0 }],
    [['completed', 'completed', 'completed'], 'completed', { completed: 3, failed: 0, active: 0, waiting: 0 }],
    [['completed', 'failed'], 'completed-with-errors', { completed: 1, failed: 1, active: 0, waiting: 0 }],
    [['failed', 'completed', 'completed'], 'completed-with-errors', { completed: 2, failed: 1, active: 0, waiting: 0 }],
    [['failed'], 'failed', { completed: 0, failed: 1, active: 0, waiting: 0 }],
    [['failed', 'failed'], 'failed', { completed: 0, failed: 2, active: 0, waiting: 0 }],
    // A job that vanished (retention, lost key) is never counted as finished.
    [['unknown', 'completed'], 'processing', { completed: 1, failed: 0, active: 0, waiting: 1 }],
  ])('folds %j into %s', (states, status, counts) => {
    expect(summarizeBatch(states)).toEqual({ status, progress: { total: states.length, ...counts } });
  });

  it('counts every file exactly once', () => {
    const states: FileState[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'unknown'];
    const { progress } = summarizeBatch(states);
    expect(progress.completed + progress.failed + progress.active + progress.waiting).toBe(progress.total);
  });
});
