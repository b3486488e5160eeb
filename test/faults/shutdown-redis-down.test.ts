import path from 'node:path';
import sharp from 'sharp';
import { startApiProcess, startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { removeDir, startRedisServer, type RedisServer } from '../helpers/redis';
import { createShutdown } from '../../src/shutdown';
import { createTestWorld, startStack, waitFor, type TestWorld } from '../helpers/stack';

// Real processes and a real redis-server that is killed under them.
jest.setTimeout(60_000);

// A bound on a hang, not a speed figure: the shutdown deadline is 30 s, and Kubernetes' default
// grace period is also 30 s, so a process still alive at 5 s is one that waits for Redis.
const HANG_MS = 5_000;
// A worker with a job in flight first gives Redis closeWorker's 2 s grace to return.
const HANG_WITH_JOB_MS = HANG_MS + 2_000;

/** Sends SIGTERM and resolves with the exit code and how long the exit took. */
async function terminate(proc: ServiceProcess): Promise<{ code: number | NodeJS.Signals; ms: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([proc.stop('SIGTERM'), new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), 40_000)))]);
  clearTimeout(timer);
  if (code === 'hung') await proc.stop('SIGKILL');
  return { code: code === 'hung' ? 'SIGKILL' : code, ms: Date.now() - started };
}

describe('SIGTERM while Redis is unreachable', () => {
  let redis: RedisServer;
  let world: TestWorld;
  const procs: ServiceProcess[] = [];

  beforeEach(async () => {
    redis = await startRedisServer();
    world = createTestWorld({ REDIS_URL: redis.url, MAX_FILE_SIZE_MB: '50', WORKER_CONCURRENCY: '1', MAX_INPUT_PIXELS: '300000000' });
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')));
    await redis.stop('SIGKILL');
    removeDir(redis.dir);
    // The world's keys lived in the private Redis, which is gone; only its directories are left.
    removeDir(path.dirname(world.uploadDir));
  });

  async function loseRedis(): Promise<void> {
    await redis.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500)); // long enough for the connections to notice and start reconnecting
  }

  it('an idle worker exits 0 at once: it holds no job to hand back', async () => {
    const worker = await startWorkerProcess(world);
    procs.push(worker);
    await new Promise((r) => setTimeout(r, 2000)); // settled into its blocking wait for jobs
    await loseRedis();
    const { code, ms } = await terminate(worker);
    expect({ code, hung: ms >= HANG_MS }).toEqual({ code: 0, hung: false });
  });

  it('a worker with a job in flight waits for Redis only briefly, then exits 0 (the job\'s lock lapses and it is returned)', async () => {
    // AVIF decodes slowly (about a second for 27 MP here): the job is still running when Redis goes.
    // AVIF is decoded whole, so the world's MAX_INPUT_PIXELS lets its decode budget admit 27 MP.
    const slow = await sharp({ create: { width: 6000, height: 4500, channels: 3, background: '#1c8', noise: { type: 'gaussian', mean: 100, sigma: 10 } } })
      .avif({ quality: 30, effort: 0 })
      .toBuffer();
    const stack = await startStack({ world });
    const { body } = await stack.request.post('/process-images').attach('images', slow, 'slow.avif').expect(202);
    const worker = await startWorkerProcess(world);
    procs.push(worker);
    await waitFor(async () => (await stack.api.ports.queue.getJobState(body.jobs[0].jobId)) === 'active', { intervalMs: 10, what: 'job active' });
    await createShutdown(world.logger, stack.api.closeSteps)();
    await redis.stop('SIGKILL');
    const { code, ms } = await terminate(worker);
    expect({ code, hung: ms >= HANG_WITH_JOB_MS }).toEqual({ code: 0, hung: false });
  });

  it('the API exits 0 at once: no upload is in flight', async () => {
    const api = await startApiProcess(world);
    procs.push(api);
    await loseRedis();
    const { code, ms } = await terminate(api);
    expect({ code, hung: ms >= HANG_MS }).toEqual({ code: 0, hung: false });
  });
});
