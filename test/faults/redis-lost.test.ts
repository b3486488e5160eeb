import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { EXIT_REDIS_LOST } from '../../src/exit-codes';
import { supervise } from '../../src/launch/supervise';
import { startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { removeDir, startRedisServer, type RedisServer } from '../helpers/redis';
import { createTestWorld, waitFor, type TestWorld } from '../helpers/stack';

// Worker processes from source (tsx) against a redis-server that is killed under them.
jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');
const LOST_EXIT_S = 3;

describe('a worker that loses Redis', () => {
  let redis: RedisServer;
  let world: TestWorld;
  const procs: ServiceProcess[] = [];

  beforeEach(async () => {
    redis = await startRedisServer();
    world = createTestWorld({ REDIS_URL: redis.url, REDIS_LOST_EXIT_S: String(LOST_EXIT_S) });
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
    await redis.stop('SIGKILL');
    removeDir(redis.dir);
    // The world's keys lived in the private Redis, which is gone; only its directories are left.
    removeDir(path.dirname(world.uploadDir));
  });

  it(`exits ${EXIT_REDIS_LOST} once Redis has been unreachable for REDIS_LOST_EXIT_S`, async () => {
    const worker = await startWorkerProcess(world);
    procs.push(worker);
    await redis.stop('SIGKILL');
    const lostAt = Date.now();
    const code = await worker.exited;
    const ms = Date.now() - lostAt;
    expect(code).toBe(EXIT_REDIS_LOST);
    expect(ms).toBeGreaterThanOrEqual(LOST_EXIT_S * 1000);
    // One poll (1 s) late at most, plus a shutdown that waits for nothing.
    expect(ms).toBeLessThan(LOST_EXIT_S * 1000 + 5000);
    expect(worker.output()).toContain('redis unreachable for REDIS_LOST_EXIT_S');
  });

  it('rides out an outage shorter than REDIS_LOST_EXIT_S', async () => {
    const worker = await startWorkerProcess(world);
    procs.push(worker);
    await redis.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    redis = await redis.restart();
    await new Promise((r) => setTimeout(r, (LOST_EXIT_S + 2) * 1000));
    // Still running: neither exited nor killed by a signal (a crash leaves exitCode null too).
    expect({ exitCode: worker.child.exitCode, signalCode: worker.child.signalCode }).toEqual({ exitCode: null, signalCode: null });
  });

  it('exits 0 within 5 s of a SIGTERM while Redis is down', async () => {
    const worker = await startWorkerProcess(world, { REDIS_LOST_EXIT_S: '60' });
    procs.push(worker);
    await redis.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500)); // long enough for its connections to notice and start reconnecting
    const started = Date.now();
    const code = await worker.stop('SIGTERM');
    expect({ code, withinFiveSeconds: Date.now() - started < 5000 }).toEqual({ code: 0, withinFiveSeconds: true });
  });

  it('is started again by the launcher, which still stops cleanly afterwards', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const stop = new AbortController();
    const worker = { name: 'worker', command: process.execPath, args: ['--import', 'tsx', path.join(ROOT, 'src/worker/main.ts')] };
    const env = { PATH: process.env.PATH ?? '', ...world.env };
    const supervised = supervise([worker], { logger, env, stopSignal: stop.signal, deadlineMs: 20_000 });
    try {
      await waitFor(async () => lines.some((l) => l.includes('"child started"')), { what: 'the worker to start' });
      await new Promise((r) => setTimeout(r, 2000)); // connected to Redis
      await redis.stop('SIGKILL');
      await waitFor(async () => lines.filter((l) => l.includes('"child started"')).length === 2, { timeoutMs: 30_000, what: 'the worker to be started again' });
      expect(lines.filter((l) => l.includes('child exited to be restarted'))).toEqual([expect.stringContaining(`"code":${EXIT_REDIS_LOST}`)]);
      // Redis back, so the new worker stays up; and a SIGTERM before its signal handlers are in
      // place would kill it outright (tsx takes a few seconds to load it here).
      redis = await redis.restart();
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      stop.abort('SIGTERM');
    }
    expect({ code: await supervised, log: lines.filter((l) => l.includes('child exited')).length }).toEqual({ code: 0, log: 2 });
  });
});
