import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { generateImage } from '../fixtures/images';
import { removeDir, startRedisServer, type RedisServer } from '../helpers/redis';
import { createTestWorld, startStack, type TestStack } from '../helpers/stack';

// Redis is frozen with SIGSTOP for several seconds, twice.
jest.setTimeout(60_000);

describe('a Redis that hangs (SIGSTOP) and resumes', () => {
  let redis: RedisServer;
  let stack: TestStack;
  let image: Buffer;

  beforeAll(async () => {
    redis = await startRedisServer();
    stack = await startStack({ world: createTestWorld({ REDIS_URL: redis.url }) });
    image = await generateImage({ width: 48, height: 32, format: 'jpeg' });
  });
  afterAll(async () => {
    redis.process.kill('SIGCONT');
    await stack.stop();
    await redis.stop();
    removeDir(redis.dir);
  });

  const batchKeys = () => stack.api.ports.redis.keys(`${stack.world.prefix}:images:batch:*`);

  /** Resumes Redis and waits until it has run everything the API sent while it was frozen. */
  async function resume(): Promise<void> {
    redis.process.kill('SIGCONT');
    // One connection's commands run in order: once this PING is answered, the late ones ran.
    await stack.api.ports.redis.ping();
  }

  it('answers an upload 503 within the README\'s 3 s and, once Redis resumes, has left no batch, job or file', async () => {
    const before = (await stack.request.post('/process-images').attach('images', image, 'a.jpg').expect(202)).body;
    const storedBefore = readdirSync(stack.world.uploadDir).sort();

    redis.process.kill('SIGSTOP');
    const started = Date.now();
    const res = await stack.request.post('/process-images').attach('images', image, 'b.jpg').attach('images', image, 'c.jpg');
    const elapsed = Date.now() - started;
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'QUEUE_UNAVAILABLE' });
    expect(elapsed).toBeLessThan(3000); // the README's figure; a bound on waiting for a hung Redis
    await new Promise((r) => setTimeout(r, 1000)); // frozen well past the refusal

    await resume();
    expect(await batchKeys()).toEqual([`${stack.world.prefix}:images:batch:${before.batchId}`]);
    expect(await stack.api.ports.queue.getJobCounts('wait', 'prioritized')).toEqual({ wait: 0, prioritized: 1 });
    expect(readdirSync(stack.world.uploadDir).sort()).toEqual(storedBefore);
  });

  it('drops a batch record whose write timed out and that Redis runs after resuming', async () => {
    const { batches } = stack.api.ports;
    const batchId = randomUUID();
    const notAfterMs = (await batches.serverTime()) + 500;
    redis.process.kill('SIGSTOP');
    // Sent while Redis is frozen: the reply times out, and Redis runs the write once it resumes.
    const write = batches.create({ batchId, createdAt: new Date().toISOString(), files: [{ jobId: randomUUID(), originalName: 'd.jpg' }] }, { notAfterMs });
    await expect(write).rejects.toThrow(/timed out/);

    await resume();
    expect(await stack.api.ports.redis.exists(`${stack.world.prefix}:images:batch:${batchId}`)).toBe(0);
  });
});
