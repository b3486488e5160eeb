import { existsSync } from 'node:fs';

const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/lib/libjemalloc.so.2'];

/**
 * The allocator for the service's processes. Over 1,000 images the worker's RSS stayed flat after
 * warm-up with jemalloc in every benchmark run, and grew with glibc's default; with two glibc
 * arenas it was lower but not always flat (BENCHMARKS.md). So: jemalloc where it is installed
 * (Debian: libjemalloc2), two arenas otherwise; an allocator chosen in the environment wins.
 */
export function allocatorEnv(env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): Record<string, string> {
  if (env.LD_PRELOAD || env.MALLOC_ARENA_MAX) return {};
  const jemalloc = JEMALLOC_PATHS.find(exists);
  return jemalloc ? { LD_PRELOAD: jemalloc } : { MALLOC_ARENA_MAX: '2' };
}
