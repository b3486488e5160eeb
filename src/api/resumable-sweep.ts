import type { Logger } from 'pino';
import { runEvery } from '../run-every';
import type { ResumableStore } from './resumable-store';

const MAX_INTERVAL_MS = 15 * 60_000;

/**
 * Removes expired resumable uploads now (an API that was down meanwhile left some) and then
 * every quarter of the expiry, at most every 15 minutes: an upload outlives its expiry by at
 * most that long. Returns the stop function; a sweep under way is awaited.
 */
export function startResumableSweep(store: ResumableStore, logger: Logger): () => Promise<void> {
  const sweep = async () => {
    const removed = await store.sweep();
    if (removed > 0) logger.info({ removed }, 'expired resumable uploads removed');
  };
  const everyMs = Math.min(Math.max(store.options.expiryMs / 4, 1000), MAX_INTERVAL_MS);
  return runEvery(everyMs, sweep, { runNow: true, onError: (err) => logger.warn({ err }, 'resumable upload sweep failed') }).stop;
}
