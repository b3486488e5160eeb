import type { Logger } from 'pino';
import { runEvery } from '../run-every';
import type { FileStore } from '../storage/file-store';

export interface RetentionRule {
  readonly store: FileStore;
  readonly maxAgeSeconds: number;
}

// A write's temporary file (the local store writes `name.<uuid>.tmp`, then renames it) that is
// still there after this long belongs to a process that died mid-write: no write takes minutes.
const STALE_TEMP_MS = 10 * 60_000;

/** Deletes files older than each rule's age, and temporary files left by a crash. Returns how many were removed. */
export async function sweepOldFiles(rules: readonly RetentionRule[], now = Date.now()): Promise<number> {
  let removed = 0;
  for (const { store, maxAgeSeconds } of rules) {
    const cutoff = now - maxAgeSeconds * 1000;
    const isOld = (name: string, modifiedMs: number) => modifiedMs < (name.endsWith('.tmp') ? Math.max(cutoff, now - STALE_TEMP_MS) : cutoff);
    for await (const { name, modifiedMs } of store.list()) {
      // A listing may not see keepFrom (an object's metadata): stat has the last word.
      if (!isOld(name, modifiedMs)) continue;
      const info = await store.stat(name);
      if (info && isOld(name, info.modifiedMs)) {
        await store.remove(name);
        removed++;
      }
    }
  }
  return removed;
}

/**
 * Sweeps now and then every `everyMs`, so outputs and stale uploads do not grow without bound.
 * `stop` does not wait for a sweep under way: one over a large bucket could outlast the shutdown
 * deadline, and one cut short loses nothing (the next start sweeps again).
 */
export function startFileRetention(rules: readonly RetentionRule[], logger: Logger, everyMs = 3_600_000): { stop: () => void } {
  const sweep = async () => {
    const removed = await sweepOldFiles(rules);
    if (removed > 0) logger.info({ removed }, 'old files removed');
  };
  const periodic = runEvery(everyMs, sweep, { runNow: true, onError: (err) => logger.warn({ err }, 'file retention sweep failed') });
  return { stop: () => void periodic.stop() };
}
