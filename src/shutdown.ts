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

/**
 * Wires SIGTERM/SIGINT to the shutdown steps with a deadline: exit 0 when every step finished
 * cleanly, 1 otherwise. Uncaught errors are logged and end the process, since its state is unknown.
 */
export function onShutdown(logger: Logger, steps: readonly ShutdownStep[], { deadlineMs }: { deadlineMs: number }): void {
  const shutdown = createShutdown(logger, steps);
  const stop = (reason: string, code: number) => {
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    void shutdown().then((clean) => process.exit(clean ? code : 1));
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
}
