import { runEvery } from '../../src/run-every';

/** A task whose runs finish only when the test says so. */
function controlledTask() {
  const finishers: ((err?: Error) => void)[] = [];
  const task = jest.fn(() => new Promise<void>((resolve, reject) => finishers.push((err) => (err ? reject(err) : resolve()))));
  const finish = (err?: Error) => finishers.shift()?.(err);
  return { task, finish };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('runEvery', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('runs at once only when asked, then once per interval', async () => {
    const { task, finish } = controlledTask();
    const later = runEvery(1000, task, { onError: jest.fn() });
    expect(task).toHaveBeenCalledTimes(0);
    jest.advanceTimersByTime(1000);
    expect(task).toHaveBeenCalledTimes(1);
    finish();
    await later.stop();

    const { task: now, finish: finishNow } = controlledTask();
    const started = runEvery(1000, now, { onError: jest.fn(), runNow: true });
    expect(now).toHaveBeenCalledTimes(1);
    finishNow();
    await started.stop();
  });

  it('skips the ticks that come while a run is under way', async () => {
    const { task, finish } = controlledTask();
    const periodic = runEvery(1000, task, { onError: jest.fn(), runNow: true });
    jest.advanceTimersByTime(3000);
    expect(task).toHaveBeenCalledTimes(1);
    finish();
    await settle();
    jest.advanceTimersByTime(1000);
    expect(task).toHaveBeenCalledTimes(2);
    finish();
    await periodic.stop();
  });

  it('hands a failed run to onError and keeps the schedule', async () => {
    const { task, finish } = controlledTask();
    const onError = jest.fn();
    const periodic = runEvery(1000, task, { onError, runNow: true });
    const boom = new Error('boom');
    finish(boom);
    await settle();
    expect(onError).toHaveBeenCalledWith(boom);
    jest.advanceTimersByTime(1000);
    expect(task).toHaveBeenCalledTimes(2);
    finish();
    await periodic.stop();
  });

  it('stops ticking, and its stop waits for the run under way', async () => {
    const { task, finish } = controlledTask();
    const periodic = runEvery(1000, task, { onError: jest.fn(), runNow: true });
    let stopped = false;
    const stopping = periodic.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    jest.advanceTimersByTime(5000);
    expect(task).toHaveBeenCalledTimes(1);
  });
});
