/** At most `limit` calls of `run` at once; the rest wait in arrival order. */
export interface Semaphore {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createSemaphore(limit: number): Semaphore {
  let running = 0;
  const waiting: (() => void)[] = [];
  return {
    async run(fn) {
      if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else running++;
      try {
        return await fn();
      } finally {
        // The slot passes straight to the next caller, so `running` never dips while one waits.
        const next = waiting.shift();
        if (next) next();
        else running--;
      }
    },
  };
}

/** A semaphore per key (a host), created on first use and dropped once idle. */
export function createKeyedSemaphore(limitPerKey: number): { run<T>(key: string, fn: () => Promise<T>): Promise<T> } {
  const byKey = new Map<string, { semaphore: Semaphore; users: number }>();
  return {
    async run(key, fn) {
      const entry = byKey.get(key) ?? { semaphore: createSemaphore(limitPerKey), users: 0 };
      byKey.set(key, entry);
      entry.users++;
      try {
        return await entry.semaphore.run(fn);
      } finally {
        if (--entry.users === 0) byKey.delete(key);
      }
    },
  };
}
