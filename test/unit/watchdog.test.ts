import { EventEmitter } from 'node:events';
import pino from 'pino';
import { superviseWorker } from '../../src/worker/watchdog';
import type { ImageWorker } from '../../src/worker/worker';

/** Stands in for a BullMQ Worker: only what the watchdog touches. */
class FakeWorker extends EventEmitter {
  closed: boolean | undefined;
  run = jest.fn(() => new Promise<void>(() => undefined));
  isPaused = () => false;
  close = jest.fn(async (force?: boolean) => {
    this.closed = force ?? false;
  });
}

describe('superviseWorker', () => {
  const logger = pino({ level: 'silent' });
  let created: FakeWorker[];
  let waiting: number;
  let active: number;
  const create = () => {
    const w = new FakeWorker();
    created.push(w);
    return w as unknown as ImageWorker;
  };

  beforeEach(() => {
    jest.useFakeTimers();
    created = [];
    waiting = 0;
    active = 0;
  });
  afterEach(() => jest.useRealTimers());

  const advance = async (ms: number) => {
    await jest.advanceTimersByTimeAsync(ms);
  };

  it('replaces a worker that sits idle while jobs wait, closing the stuck one without waiting', async () => {
    const supervised = superviseWorker(create, async () => ({ wait: waiting, active }), logger, { idleMs: 3000 });
    void supervised.run();
    waiting = 5;
    await advance(4000);
    expect(created).toHaveLength(2);
    expect(created[0]?.closed).toBe(true);
    expect(supervised.current()).toBe(created[1]);
    expect(created[1]?.run).toHaveBeenCalled();
  });

  it.each([
    ['nothing waits', () => undefined, 0],
    ['some worker is running a job', () => (active = 1), 5],
    ['the worker finished a job recently', (w: FakeWorker) => setInterval(() => w.emit('completed'), 1000), 5],
  ])('leaves the worker alone when %s', async (_case, act, waitingJobs) => {
    const supervised = superviseWorker(create, async () => ({ wait: waiting, active }), logger, { idleMs: 3000 });
    void supervised.run();
    waiting = waitingJobs;
    act(created[0] as FakeWorker);
    await advance(10_000);
    expect(created).toHaveLength(1);
    await supervised.close();
  });

  it('stops watching on close and lets the current worker finish its jobs', async () => {
    const supervised = superviseWorker(create, async () => ({ wait: waiting, active }), logger, { idleMs: 3000 });
    const ran = supervised.run();
    await supervised.close();
    waiting = 5;
    await advance(10_000);
    expect(created).toHaveLength(1);
    expect(created[0]?.closed).toBe(false);
    await expect(ran).resolves.toBeUndefined();
  });
});
