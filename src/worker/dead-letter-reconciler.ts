import type { Logger } from 'pino';
import type { BatchStore } from '../queue/batch-store';
import { sendToDeadLetter, type DeadLetterQueue } from '../queue/dead-letter';
import type { ImageQueue } from '../queue/jobs';

/**
 * Dead-letters every recently failed job that has no letter yet. The worker's 'failed' event
 * does not fire for jobs BullMQ fails itself (stalled more than maxStalledCount: an image that
 * crashes the worker every time), nor for a failure whose worker died before sending the
 * letter. Sending is idempotent, so every worker can run this.
 */
export async function reconcileDeadLetters(deps: { queue: ImageQueue; deadLetters: DeadLetterQueue; batches: BatchStore }, newest = 100): Promise<number> {
  let sent = 0;
  for (const job of await deps.queue.getFailed(0, newest - 1)) {
    if (await sendToDeadLetter(deps, job)) sent++;
  }
  return sent;
}

export function startDeadLetterReconciler(
  deps: { queue: ImageQueue; deadLetters: DeadLetterQueue; batches: BatchStore; logger: Logger },
  everyMs = 15_000,
): { stop: () => void } {
  const timer = setInterval(() => {
    reconcileDeadLetters(deps).then(
      (sent) => sent > 0 && deps.logger.warn({ sent }, 'dead-lettered failed jobs the worker had not'),
      (err: unknown) => deps.logger.debug({ err }, 'dead-letter reconcile skipped'),
    );
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
