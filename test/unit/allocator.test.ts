import { allocatorEnv } from '../../src/launch/allocator';

describe('allocatorEnv', () => {
  const jemallocAt = (path: string) => (p: string) => p === path;

  it('preloads jemalloc where it is installed', () => {
    expect(allocatorEnv({}, jemallocAt('/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'))).toEqual({ LD_PRELOAD: '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2' });
  });

  it('falls back to two glibc arenas without it', () => {
    expect(allocatorEnv({}, () => false)).toEqual({ MALLOC_ARENA_MAX: '2' });
  });

  it.each([[{ LD_PRELOAD: '/opt/tcmalloc.so' }], [{ MALLOC_ARENA_MAX: '4' }]])('leaves an allocator chosen in the environment alone: %j', (env) => {
    expect(allocatorEnv(env, () => true)).toEqual({});
  });
});
