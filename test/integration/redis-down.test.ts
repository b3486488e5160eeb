import { readdirSync } from 'node:fs';
import type { Response } from 'supertest';
import { generateImage } from '../fixtures/images';
import { removeDir, startRedisServer, type RedisServer } from '../helpers/redis';
import { createTestWorld, startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

// Generous: the answer must not wait for Redis to come back, but the machine may be busy.
const FAST_MS = 5_000;

let redis: RedisServer;
let stack: TestStack;
let image: Buffer;

beforeAll(async () => {
  // AOF on, so what was accepted before the outage is still there after the restart.
  redis = await startRedisServer({ appendonly: true });
  stack = await startStack({ world: createTestWorld({ REDIS_URL: redis.url, ADMIN_TOKEN: TEST_ADMIN_TOKEN }) });
  image = await generateImage({ width: 48, height: 32, format: 'jpeg' });
});
afterAll(async () => {
  if (redis.process.exitCode !== null || redis.process.signalCode !== null) redis = await redis.restart();
  await stack.stop(); // deletes the keys, so it needs Redis up
  await redis.stop();
  removeDir(redis.dir);
});

const upload = () => stack.request.post('/process-images').attach('images', image, 'a.jpg').attach('images', image, 'b.jpg');

function expectQueueUnavailable(res: Response): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'QUEUE_UNAVAILABLE' });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.text).not.toMatch(/\bat \S+ \(|ECONNREFUSED|127\.0\.0\.1/);
}

describe('the API while Redis is down', () => {
  it('answers uploads with 503 QUEUE_UNAVAILABLE at once and keeps no files, then recovers when Redis returns', async () => {
    const before = (await upload().expect(202)).body;
    const storedBefore = readdirSync(stack.world.uploadDir).sort();
    expect(storedBefore).toHaveLength(2);

    await redis.stop();

    const started = Date.now();
    const res = await upload();
    const elapsed = Date.now() - started;
    expectQueueUnavailable(res);
    expect(elapsed).toBeLessThan(FAST_MS);
    expect(readdirSync(stack.world.uploadDir).sort()).toEqual(storedBefore);

    expectQueueUnavailable(await stack.request.post('/upload').attach('media', image, 'c.jpg'));
    expect(readdirSync(stack.world.uploadDir).sort()).toEqual(storedBefore);

    expectQueueUnavailable(await stack.request.get('/readyz'));
    // Reads fail as unavailable too, never as a 500.
    expectQueueUnavailable(await stack.request.get(`/batches/${before.batchId}`));
    expectQueueUnavailable(await stack.request.get(`/jobs/${before.jobs[0].jobId}`));
    expectQueueUnavailable(await stack.admin.get('/dead-letters'));
    await stack.request.get('/healthz').expect(200);

    redis = await redis.restart();
    // ioredis reconnects with a backoff capped at 2 s.
    await waitFor(async () => (await stack.request.get('/readyz')).status === 200, { timeoutMs: 10_000, what: 'the API to be ready again' });

    const after = (await upload().expect(202)).body;
    expect(readdirSync(stack.world.uploadDir)).toHaveLength(4);
    await stack.request.get(`/batches/${after.batchId}`).expect(200);
    // Accepted before the outage, still known after it.
    expect((await stack.request.get(`/batches/${before.batchId}`).expect(200)).body.progress.total).toBe(2);
  });

  it('answers a tus completion with 503 QUEUE_UNAVAILABLE and keeps the upload, which completes once Redis returns', async () => {
    const created = await stack.request.post('/uploads/tus').set('Tus-Resumable', '1.0.0').set('Upload-Length', String(image.length)).expect(201);
    const location = String(created.headers.location);
    await stack.request.patch(location).set('Tus-Resumable', '1.0.0').set('Upload-Offset', '0').set('Content-Type', 'application/offset+octet-stream').send(image).expect(204);
    const complete = () => stack.request.post('/uploads/tus/complete').send({ uploadIds: [location.split('/').pop()] });

    await redis.stop();
    expectQueueUnavailable(await complete());
    // The upload is still there, bytes and all: tus answers it without Redis.
    const head = await stack.request.head(location).set('Tus-Resumable', '1.0.0').expect(200);
    expect(head.headers['upload-offset']).toBe(String(image.length));

    redis = await redis.restart();
    await waitFor(async () => (await stack.request.get('/readyz')).status === 200, { timeoutMs: 10_000, what: 'the API to be ready again' });
    expect((await complete().expect(202)).body.totalFiles).toBe(1);
  });
});
