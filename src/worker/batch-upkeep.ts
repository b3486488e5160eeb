import type { Logger } from 'pino';
import { reconcileQueuedFiles } from '../queue/queued-files';
import type { RedisClient } from '../queue/redis-target';
import { runEvery } from '../run-every';

export interface BatchUpkeepDeps {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly logger: Logger;
}

/**
 * Every `everyMs`: recounts each client's queued files from what is stored, so no count left
 * high by a crash or a lost job refuses its holder for good. Atomic and idempotent, so every
 * worker can run it. `stop` does not wait for a run under way,
 * as the dead-letter reconciler's: with Redis down it would wait for Redis, and the next run, here
 * or in another worker, redoes one cut short.
 */
export function startBatchUpkeep(deps: BatchUpkeepDeps, everyMs: number): { stop: () => void } {
  const upkeep = async () => {
    for (const correction of await reconcileQueuedFiles(deps.redis, deps.prefix)) {
      deps.logger.warn(correction, 'queued-files count recounted');
    }
  };
  const periodic = runEvery(everyMs, upkeep, { runNow: true, onError: (err) => deps.logger.debug({ err }, 'batch upkeep skipped') });
  return { stop: () => void periodic.stop() };
}
