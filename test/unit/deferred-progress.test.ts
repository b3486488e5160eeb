import { deferProgress } from '../../src/worker/deferred-progress';

describe('deferProgress', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const recorder = () => {
    const written: number[] = [];
    return { written, write: async (p: number) => void written.push(p) };
  };

  it('writes every report at once when afterMs is 0', () => {
    const { written, write } = recorder();
    const progress = deferProgress(write, 0);
    progress.report(10);
    progress.report(50);
    expect(written).toEqual([10, 50]);
  });

  it('writes nothing for a job that ends within afterMs of its first report, however long it waited before', () => {
    const { written, write } = recorder();
    const progress = deferProgress(write, 250);
    jest.advanceTimersByTime(5000);
    progress.report(10);
    jest.advanceTimersByTime(100);
    progress.stop();
    jest.advanceTimersByTime(1000);
    expect(written).toEqual([]);
  });

  it('writes the latest report once afterMs has passed, then each report at once', () => {
    const { written, write } = recorder();
    const progress = deferProgress(write, 250);
    progress.report(10);
    progress.report(20);
    jest.advanceTimersByTime(249);
    expect(written).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(written).toEqual([20]);
    progress.report(60);
    expect(written).toEqual([20, 60]);
    progress.stop();
    progress.report(90);
    expect(written).toEqual([20, 60]);
  });

  it('swallows a failed write: progress is advisory', async () => {
    const progress = deferProgress(() => Promise.reject(new Error('Redis down')), 0);
    expect(() => progress.report(10)).not.toThrow();
    await Promise.resolve();
  });
});
