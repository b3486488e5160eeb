import type { Logger } from 'pino';
import type { ImageWorker } from './worker';

export interface SupervisedWorker {
  /** The worker currently consuming (replaced if it is found stuck). */
  current(): ImageWorker;
  /** Starts consuming and watching; resolves when the supervised worker is closed. */
  run(): Promise<void>;
  /** Stops watching, then closes the current worker, letting its active jobs finish. */
  close(): Promise<void>;
}

/** What the watchdog reads from Redis: jobs ready to run, and jobs any worker is running. */
export type QueueCounts = () => Promise<{ wait?: number; active?: number }>;

/**
 * BullMQ users report workers that stay connected but stop taking jobs after a Redis
 * reconnect. This watches for exactly that symptom — jobs waiting, none active anywhere, and
 * no activity here for `idleMs` — and swaps in a fresh worker (a new BullMQ Worker with its
 * own new blocking connection). The old one is closed without waiting: it holds no job.
 * Counting from Redis rather than from events keeps a lost lock from blinding the watchdog.
 */
export function superviseWorker(create: () => ImageWorker, counts: QueueCounts, logger: Logger, { idleMs }: { idleMs: number }): SupervisedWorker {
  let worker: ImageWorker;
  let lastActivity = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));

  const start = () => {
    worker = create();
    lastActivity = Date.now();
    const touch = () => (lastActivity = Date.now());
    for (const event of ['active', 'completed', 'failed'] as const) worker.on(event, touch);
    worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped with an error'));
  };

  const check = async () => {
    if (closed || worker.isPaused() || Date.now() - lastActivity < idleMs) return;
    const { wait = 0, active = 0 } = await counts().catch(() => ({ wait: 0, active: 0 })); // Redis down: nothing to judge yet
    if (closed || wait === 0 || active > 0 || Date.now() - lastActivity < idleMs) return;
    logger.error({ waiting: wait, idleMs }, 'worker idle while jobs wait; replacing it');
    const stuck = worker;
    start();
    await stuck.close(true).catch((err: unknown) => logger.warn({ err }, 'closing the stuck worker failed'));
  };

  return {
    current: () => worker,
    run: () => {
      start();
      timer = setInterval(() => void check(), Math.max(1000, Math.floor(idleMs / 3)));
      timer.unref();
      return done;
    },
    close: async () => {
      closed = true;
      clearInterval(timer);
      await worker?.close();
      finished();
    },
  };
}
