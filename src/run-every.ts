export interface Periodic {
  /** Clears the timer; resolves once the run under way, if any, has settled. */
  stop(): Promise<void>;
}

/**
 * Runs `task` every `ms` (and once at once with `runNow`), one run at a time: a tick that comes
 * while a run is under way is skipped, so a slow run never piles up others behind it. The timer
 * is unref'd, so it never keeps a process alive, and a failed run goes to `onError` without
 * ending the schedule.
 */
export function runEvery(ms: number, task: () => Promise<unknown>, { onError, runNow = false }: { onError: (err: unknown) => void; runNow?: boolean }): Periodic {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= task()
      .then(() => undefined, onError)
      .finally(() => (running = undefined));
  };
  if (runNow) tick();
  const timer = setInterval(tick, ms);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
