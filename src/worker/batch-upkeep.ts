import type { Logger } from 'pino';
import type { BatchIndex } from '../queue/batch-index';
import { reconcileQueuedFiles } from '../queue/queued-files';
import type { RedisClient } from '../queue/redis-target';
import { runEvery } from '../run-every';

/** Index entries removed per command: a long backlog is worked off in steps of this, each short. */
const PRUNE_STEP = 1000;

export interface BatchUpkeepDeps {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly batchIndex: BatchIndex;
  readonly logger: Logger;
}

/**
 * Every `everyMs`: prunes the batch index of batches whose records expired (GET /batches only
 * drops the entries it finds gone), and recounts each client's queued files from what is
 * stored, so no count left high by a crash or a lost job refuses its holder for good. Both are
 * idempotent (the recount atomic per holder), so every worker can run them. `stop` does not
 * wait for a run under way, as the dead-letter reconciler's: with Redis down it would wait for
 * Redis, and the next run, here or in another worker, redoes one cut short.
 */
export function startBatchUpkeep(deps: BatchUpkeepDeps, everyMs: number): { stop: () => void } {
  const upkeep = async () => {
    let pruned = 0;
    let step: number;
    do {
      step = await deps.batchIndex.prune(PRUNE_STEP);
      pruned += step;
    } while (step === PRUNE_STEP);
    if (pruned > 0) deps.logger.debug({ pruned }, 'expired batches pruned from the index');
    const onError = (holder: string, err: unknown) => deps.logger.warn({ err, holder }, 'queued-files count not recounted');
    for (const correction of await reconcileQueuedFiles(deps.redis, deps.prefix, { onError })) {
      deps.logger.warn(correction, 'queued-files count recounted');
    }
  };
  const periodic = runEvery(everyMs, upkeep, { runNow: true, onError: (err) => deps.logger.debug({ err }, 'batch upkeep skipped') });
  return { stop: () => void periodic.stop() };
}
