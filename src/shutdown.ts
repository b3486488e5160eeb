import type { Logger } from 'pino';

export type ShutdownStep = readonly [name: string, run: () => Promise<unknown> | unknown];

/**
 * Runs the steps in order, each in its own try/catch so a failing one does not skip the rest.
 * Safe to call twice: the second call gets the first call's promise.
 */
export function createShutdown(logger: Logger, steps: readonly ShutdownStep[]): () => Promise<boolean> {
  let running: Promise<boolean> | undefined;
  return () => {
    running ??= (async () => {
      let clean = true;
      for (const [name, run] of steps) {
        try {
          await run();
          logger.debug({ step: name }, 'shutdown step done');
        } catch (err) {
          clean = false;
          logger.error({ err, step: name }, 'shutdown step failed');
        }
      }
      return clean;
    })();
    return running;
  };
}

/** Starts the shutdown from inside the process, to exit with `code` once the steps are done. */
export type StopProcess = (reason: string, code: number) => void;

/**
 * Wires SIGTERM/SIGINT to the shutdown steps with a deadline: exit 0 when every step finished
 * cleanly, 1 otherwise. Uncaught errors are logged and end the process, since its state is unknown.
 * The returned function stops the process the same way with an exit code of the caller's; the
 * first stop wins, so a signal during a stop cannot turn its code into 0.
 */
export function onShutdown(logger: Logger, steps: readonly ShutdownStep[], { deadlineMs }: { deadlineMs: number }): StopProcess {
  const shutdown = createShutdown(logger, steps);
  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) return logger.info({ reason }, 'already shutting down');
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    // A non-zero code is the reason for the stop, and says more than 1 would.
    void shutdown().then((clean) => process.exit(clean || code !== 0 ? code : 1));
  };
  process.once('SIGTERM', () => stop('SIGTERM', 0));
  process.once('SIGINT', () => stop('SIGINT', 0));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception');
    stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection');
    stop('unhandledRejection', 1);
  });
  return stop;
}
