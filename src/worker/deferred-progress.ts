/** A job's progress reports, held back until the job has run for a while. */
export interface DeferredProgress {
  /** Records `percent`; written at once if `afterMs` has passed since the first report, else when it has (if the job still runs). */
  report(percent: number): void;
  /** The job is over: nothing more is written, whatever is pending. Safe to call twice. */
  stop(): void;
}

/**
 * Writes only the progress of jobs still running `afterMs` after their first report, and then
 * only the latest percent. A progress write on a job that ends sooner tells nobody anything its
 * outcome does not, and costs a Redis round trip and an event-stream entry per job. The clock
 * starts at the first report, not when the job was taken: a job may wait for a Sharp slot
 * (FETCH_CONCURRENCY jobs more are taken than there are slots), and that wait is not its work.
 * With `afterMs` 0 every report is written at once.
 */
export function deferProgress(write: (percent: number) => Promise<unknown>, afterMs: number): DeferredProgress {
  let firstAt: number | undefined;
  let pending: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const flush = () => {
    timer = undefined;
    if (stopped || pending === undefined) return;
    const percent = pending;
    pending = undefined;
    write(percent).catch(() => undefined);
  };
  return {
    report(percent) {
      if (stopped) return;
      pending = percent;
      firstAt ??= performance.now();
      const wait = afterMs - (performance.now() - firstAt);
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
