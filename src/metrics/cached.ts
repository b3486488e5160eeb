/**
 * Wraps `load` so that calls within `ttlMs` of a load share its result, and calls during a load
 * share the one in flight: a scrape every few seconds, or several scrapers, cost one load each
 * `ttlMs`. A failed load is not kept, so the next call tries again.
 */
export function cachedFor<T>(ttlMs: number, load: () => Promise<T>, now: () => number = Date.now): () => Promise<T> {
  let entry: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (entry && now() - entry.at < ttlMs) return entry.value;
    const value = load();
    const current = { at: now(), value };
    entry = current;
    value.catch(() => {
      if (entry === current) entry = undefined;
    });
    return value;
  };
}
