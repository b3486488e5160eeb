import type { Logger } from 'pino';
import type { BatchStore } from '../queue/batch-store';
import { sendToDeadLetter, type DeadLetterQueue } from '../queue/dead-letter';
import type { ImageQueue } from '../queue/jobs';
import { runEvery } from '../run-every';

/**
 * Dead-letters every recently failed job that has no letter yet: the worker's 'failed'
 * listener sends letters, but not if its process dies between BullMQ recording the failure
 * and the letter being written. Sending is idempotent, so every worker can run this.
 */
export async function reconcileDeadLetters(deps: { queue: ImageQueue; deadLetters: DeadLetterQueue; batches: BatchStore }, newest = 100): Promise<number> {
  let sent = 0;
  for (const job of await deps.queue.getFailed(0, newest - 1)) {
    if (await sendToDeadLetter(deps, job)) sent++;
  }
  return sent;
}

/**
 * Reconciles every `everyMs`. `stop` does not wait for a run under way: with Redis down it would
 * wait for Redis, and a run cut short is redone by the next one, here or in another worker.
 */
export function startDeadLetterReconciler(
  deps: { queue: ImageQueue; deadLetters: DeadLetterQueue; batches: BatchStore; logger: Logger },
  everyMs = 15_000,
): { stop: () => void } {
  const reconcile = async () => {
    const sent = await reconcileDeadLetters(deps);
    if (sent > 0) deps.logger.warn({ sent }, 'dead-lettered failed jobs the worker had not');
  };
  const periodic = runEvery(everyMs, reconcile, { onError: (err) => deps.logger.debug({ err }, 'dead-letter reconcile skipped') });
  return { stop: () => void periodic.stop() };
}
