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

/**
 * BullMQ users report workers that stay connected but stop taking jobs after a Redis
 * reconnect. This watches for exactly that symptom — jobs waiting while this worker has had
 * nothing in hand for `idleMs` — and swaps in a fresh worker with fresh connections. The old
 * one is closed without waiting: it holds no job.
 */
export function superviseWorker(
  create: () => ImageWorker,
  waitingJobs: () => Promise<number>,
  logger: Logger,
  { idleMs }: { idleMs: number },
): SupervisedWorker {
  let worker: ImageWorker;
  let inHand = 0;
  let lastActivity = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));

  const start = () => {
    worker = create();
    inHand = 0;
    lastActivity = Date.now();
    worker.on('active', () => {
      inHand++;
      lastActivity = Date.now();
    });
    const settle = () => {
      inHand = Math.max(0, inHand - 1);
      lastActivity = Date.now();
    };
    worker.on('completed', settle);
    worker.on('failed', settle);
    worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped with an error'));
  };

  const check = async () => {
    if (closed || inHand > 0 || worker.isPaused() || Date.now() - lastActivity < idleMs) return;
    const waiting = await waitingJobs().catch(() => 0); // Redis down: nothing to judge yet
    if (closed || waiting === 0 || inHand > 0) return;
    logger.error({ waiting, idleMs }, 'worker idle while jobs wait; replacing it');
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
