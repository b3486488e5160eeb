import { generateImage } from '../fixtures/images';
import { BatchStatus, Health } from '../../src/api/schemas';
import { bodyOf, filesIn, getJson, postImages, type UploadFile } from '../helpers/http';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { removeDir, startRedisServer, type RedisServer } from '../helpers/redis';
import { createTestWorld, waitFor, type TestWorld } from '../helpers/stack';

// Processes start, Redis dies and comes back, and every file must still finish.
jest.setTimeout(120_000);

async function images(count: number, tag: number): Promise<UploadFile[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({ name: `photo-${tag}-${i}.jpg`, data: await generateImage({ width: 1600 + i * 8, height: 1200, format: 'jpeg' }) })),
  );
}

async function batchDone(api: ApiProcess, batchId: string) {
  const { body } = await getJson(`${api.baseUrl}/batches/${batchId}`, BatchStatus);
  return body && ['completed', 'completed-with-errors', 'failed'].includes(body.status) && body;
}

describe('Redis restarted under a running API and worker (AOF everysec)', () => {
  let redis: RedisServer;
  let world: TestWorld;
  let api: ApiProcess;
  let worker: ServiceProcess | undefined;

  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: true });
    world = createTestWorld({ REDIS_URL: redis.url });
    api = await startApiProcess(world);
  });

  afterAll(async () => {
    await Promise.all([api?.stop('SIGKILL'), worker?.stop('SIGKILL')]);
    await world?.cleanup().catch(() => undefined);
    await redis?.stop('SIGKILL');
    if (redis) removeDir(redis.dir);
  });

  async function crashRedis(): Promise<void> {
    await new Promise((r) => setTimeout(r, 1500)); // appendfsync everysec: what was acknowledged a second ago is on disk
    await redis.stop('SIGKILL'); // a crash: no shutdown save, only the AOF survives
  }

  async function restartRedis(): Promise<void> {
    redis = await redis.restart();
    await waitFor(async () => (await getJson(`${api.baseUrl}/readyz`, Health)).status === 200, { timeoutMs: 20_000, what: 'API ready again' });
  }

  it('keeps jobs accepted before a crash, and answers 503 fast, leaving no files, while Redis is down', async () => {
    const first = await postImages(api.baseUrl, await images(10, 1));
    expect(first.status).toBe(202);
    const accepted = bodyOf(first);
    await crashRedis();
    const uploadsBefore = filesIn(world.uploadDir).length;

    const during = await postImages(api.baseUrl, await images(3, 2));
    expect(during.status).toBe(503);
    expect(during.problem?.code).toBe('QUEUE_UNAVAILABLE');
    expect(during.ms).toBeLessThan(3000);
    expect((await getJson(`${api.baseUrl}/readyz`, Health)).status).toBe(503);
    expect((await getJson(`${api.baseUrl}/batches/${accepted.batchId}`, BatchStatus)).status).toBe(503);
    expect(filesIn(world.uploadDir)).toHaveLength(uploadsBefore);

    await restartRedis();
    const batch = bodyOf(await getJson(`${api.baseUrl}/batches/${accepted.batchId}`, BatchStatus));
    expect(batch.progress).toMatchObject({ total: 10, waiting: 10 });

    worker = await startWorkerProcess(world);
    const done = await waitFor(() => batchDone(api, accepted.batchId), { timeoutMs: 60_000, intervalMs: 250, what: 'first batch' });
    expect(done.progress.completed).toBe(10);
  });

  it('lets a worker that lived through an outage carry on consuming', async () => {
    expect(worker).toBeDefined();
    await crashRedis();
    await new Promise((r) => setTimeout(r, 2000)); // long enough for the worker's connections to notice
    await restartRedis();

    const reply = await postImages(api.baseUrl, await images(4, 3));
    expect(reply.status).toBe(202);
    const after = bodyOf(reply);
    const done = await waitFor(() => batchDone(api, after.batchId), { timeoutMs: 60_000, intervalMs: 250, what: 'batch after restart' });
    expect(done.status).toBe('completed');
    expect(filesIn(world.processedDir)).toHaveLength(14);
    // The same worker process, reconnected by itself: neither exited nor killed by a signal.
    expect({ exitCode: worker?.child.exitCode, signalCode: worker?.child.signalCode }).toEqual({ exitCode: null, signalCode: null });
  });
});
