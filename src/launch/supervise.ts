import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { EXIT_REDIS_LOST } from '../exit-codes';

/** Between a child's exit for a restart and its new start: a child failing at once cannot spin. */
export const RESTART_DELAY_MS = 1000;

export interface ChildSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * Runs the children until `stopSignal` aborts (its reason, a signal name, is forwarded to each
 * child once) or one of them exits on its own (the others get SIGTERM). A child that exits with
 * EXIT_REDIS_LOST (a worker cut off from Redis) is started again instead. Children still running
 * `deadlineMs` after the stop are killed. Resolves with 0 when every child exited 0 after a stop.
 */
export function supervise(specs: readonly ChildSpec[], options: { logger: Logger; env: NodeJS.ProcessEnv; stopSignal: AbortSignal; deadlineMs: number }): Promise<number> {
  const { logger, stopSignal, deadlineMs } = options;
  const children = new Set<ChildProcess>();
  let stopping = false;
  let failed = false;
  let deadline: NodeJS.Timeout | undefined;

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) if (isRunning(child)) child.kill(signal);
    deadline = setTimeout(() => {
      logger.error({ deadlineMs }, 'children did not stop in time; killing them');
      failed = true;
      for (const child of children) if (isRunning(child)) child.kill('SIGKILL');
    }, deadlineMs);
  };

  const exits = specs.map(
    (spec) =>
      new Promise<void>((resolve) => {
        const start = () => {
          if (stopping) return resolve();
          // Own process group: a terminal Ctrl-C reaches only the launcher, which forwards it once.
          // A child that got SIGINT twice would die at the second one, before its shutdown finished.
          const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'inherit', 'inherit'], env: options.env, detached: true });
          children.add(child);
          let ended = false;
          const onEnd = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
            if (ended) return;
            ended = true;
            children.delete(child);
            if (!stopping && code === EXIT_REDIS_LOST) {
              logger.warn({ child: spec.name, code }, 'child exited to be restarted; starting it again');
              setTimeout(start, RESTART_DELAY_MS);
              return;
            }
            if (!(stopping && code === 0)) failed = true;
            if (stopping) logger.info({ child: spec.name, code, signal }, 'child exited');
            else logger.error({ child: spec.name, code, signal, err }, 'child exited unexpectedly; stopping the others');
            stop('SIGTERM');
            resolve();
          };
          child.once('exit', onEnd);
          child.once('error', (err) => onEnd(null, null, err)); // could not be spawned at all
          if (child.pid) logger.info({ child: spec.name, childPid: child.pid }, 'child started');
        };
        start();
      }),
  );

  const onAbort = () => stop(stopSignal.reason as NodeJS.Signals);
  if (stopSignal.aborted) onAbort();
  else stopSignal.addEventListener('abort', onAbort, { once: true });

  return Promise.all(exits).then(() => {
    clearTimeout(deadline);
    stopSignal.removeEventListener('abort', onAbort);
    return failed ? 1 : 0;
  });
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
