import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { fixtures } from '../fixtures/images';
import { filesIn } from '../helpers/http';
import { startApiProcess, type ApiProcess } from '../helpers/processes';
import { rawRequest } from '../helpers/raw-http';
import { createTestWorld, startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

// Keys from the real command (a tsx child process each), and a second API started from source.
jest.setTimeout(90_000);

const as = (who: CreatedKey) => ({ 'X-API-Key': who.key });

/** A multipart upload's head with a body announced but never sent: an answer to it was given before reading the body. */
function headOnlyUpload(port: number, path: string, headers: Record<string, string>) {
  return rawRequest({ port, path, headers: { 'Content-Type': 'multipart/form-data; boundary=x', 'Content-Length': String(4 * 1024 * 1024), ...headers }, chunks: [], waitMs: 5000 });
}

describe('RATE_LIMIT_REQUESTS_PER_MIN, shared by every API process', () => {
  let stack: TestStack;
  let other: ApiProcess;
  let carol: CreatedKey;
  let dave: CreatedKey;
  beforeAll(async () => {
    [carol, dave] = await Promise.all([createKey('Carol'), createKey('Dave')]);
    const world = createTestWorld({ API_KEYS: `${carol.env},${dave.env}`, RATE_LIMIT_REQUESTS_PER_MIN: '5' });
    stack = await startStack({ world });
    other = await startApiProcess(world);
  });
  afterAll(async () => {
    await other.stop('SIGTERM');
    await stack.stop();
  });

  it('lets a key make 5 requests a minute, with RateLimit headers counting down', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await stack.request.get('/limits').set(as(carol)).expect(200);
      expect(res.headers['ratelimit-policy']).toBe('"requests";q=5;w=60');
      remaining.push(String(/;r=(\d+);/.exec(res.headers.ratelimit ?? '')?.[1]));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
  });

  it('answers the flood\'s next request, on the other API process, with 429 RATE_LIMITED and Retry-After', async () => {
    const res = await fetch(`${other.baseUrl}/limits`, { headers: as(carol) });
    expect(res.status).toBe(429);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await res.json()) as unknown).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(res.headers.get('ratelimit-policy')).toBe('"requests";q=5;w=60');
    expect(res.headers.get('ratelimit')).toBe(`"requests";r=0;t=${retryAfter}`);
  });

  it('refuses a limited key\'s upload before reading its body', async () => {
    const port = Number(new URL(other.baseUrl).port);
    const outcome = await headOnlyUpload(port, '/process-images', as(carol));
    expect({ status: outcome.status, code: outcome.body?.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
  });

  it('counts each key on its own', async () => {
    expect((await fetch(`${other.baseUrl}/limits`, { headers: as(dave) })).status).toBe(200);
  });
});

describe('RATE_LIMIT_REQUESTS_PER_MIN without API keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { RATE_LIMIT_REQUESTS_PER_MIN: '2' } });
  });
  afterAll(() => stack.stop());

  it('counts per client address', async () => {
    await stack.request.get('/limits').expect(200);
    await stack.request.get('/presets').expect(200);
    const res = await stack.request.get('/limits').expect(429);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  // Probes carry no key, so only a limited address shows whether they are counted.
  it('leaves the probes alone for an address over its limit', async () => {
    await stack.request.get('/limits').expect(429);
    for (let i = 0; i < 3; i++) {
      await stack.request.get('/healthz').expect(200);
      await stack.request.get('/readyz').expect(200);
    }
  });
});

describe('MAX_QUEUED_FILES_PER_KEY', () => {
  let stack: TestStack;
  let server: Server;
  let port: number;
  let alice: CreatedKey;
  let bob: CreatedKey;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([createKey('Alice'), createKey('Bob')]);
    stack = await startStack({ worker: true, env: { API_KEYS: `${alice.env},${bob.env}`, MAX_QUEUED_FILES_PER_KEY: '2', ADMIN_TOKEN: TEST_ADMIN_TOKEN, RECONCILE_INTERVAL_MS: '200' } });
    server = stack.api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
    // Scheduled an hour ahead: these two stay queued for the whole test.
    await stack.request.post('/process-images').set(as(alice)).field('delayMs', '3600000').attach('images', fixtures.rgbaPng).attach('images', fixtures.webp).expect(202);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await stack.stop();
  });

  it('refuses a file over the limit with 429 QUOTA_EXCEEDED, Retry-After and RateLimit headers, storing nothing', async () => {
    const res = await stack.request.post('/process-images').set(as(alice)).attach('images', fixtures.rgbaPng).expect(429);
    expect(res.body).toMatchObject({ code: 'QUOTA_EXCEEDED', status: 429 });
    expect(res.headers['retry-after']).toBe('10');
    expect(res.headers['ratelimit-policy']).toBe('"queued-files";q=2');
    expect(res.headers.ratelimit).toBe('"queued-files";r=0;t=10');
    // Only the two queued files: the refused one was removed after parsing.
    expect(filesIn(stack.world.uploadDir)).toHaveLength(2);
  });

  it.each([
    ['POST /upload (one file by definition)', '/upload', {}],
    ['POST /process-images with Imgflow-File-Count', '/process-images', { 'Imgflow-File-Count': '1' }],
  ])('refuses %s before reading the body', async (_what, path, headers) => {
    const outcome = await headOnlyUpload(port, path, { ...as(alice), ...headers });
    expect({ status: outcome.status, code: outcome.body?.code }).toEqual({ status: 429, code: 'QUOTA_EXCEEDED' });
  });

  it('counts images by URL too', async () => {
    const res = await stack.request.post('/process-urls').set(as(alice)).send({ urls: ['https://example.invalid/a.jpg'] }).expect(429);
    expect(res.body.code).toBe('QUOTA_EXCEEDED');
  });

  it('counts per key, and gives a key its places back as its files finish', async () => {
    for (let round = 0; round < 2; round++) {
      const res = await stack.request.post('/process-images').set(as(bob)).attach('images', fixtures.rgbaPng).attach('images', fixtures.webp).expect(202);
      await waitFor(async () => (await stack.request.get(res.body.statusUrl).set(as(bob)).expect(200)).body.status === 'completed', { what: `bob's batch ${round} completed` });
    }
    expect(await stack.api.ports.batches.queuedFiles('key:bob')).toBe(0);
    expect(await stack.api.ports.batches.queuedFiles('key:alice')).toBe(2);
  });

  it('gives a key back the places of a batch that expired unfinished, so it is not refused for good', async () => {
    const { batches, redis } = stack.api.ports;
    const batchId = randomUUID();
    const files = [{ jobId: randomUUID(), originalName: 'a.jpg' }, { jobId: randomUUID(), originalName: 'b.jpg' }];
    await batches.create({ batchId, createdAt: new Date().toISOString(), files, owner: 'bob', quota: { holder: 'key:bob', max: 2 } }, { notAfterMs: (await batches.serverTime()) + 10_000 });
    expect(await batches.queuedFiles('key:bob')).toBe(2);
    // Its record goes as retention would take it, with its files never finished: nothing records an outcome for them.
    await redis.del(`${stack.world.prefix}:images:batch:${batchId}`);
    await waitFor(async () => (await batches.queuedFiles('key:bob')) === 0, { what: 'the worker to recount bob\'s queued files', timeoutMs: 5000 });
    const res = await stack.request.post('/upload').set(as(bob)).attach('media', fixtures.rgbaPng).expect(202);
    await waitFor(async () => (await stack.request.get(res.body.statusUrl).set(as(bob)).expect(200)).body.state === 'completed', { what: 'bob\'s upload completed' });
  });

  it('gives a failed file\'s place back, and counts it again when its dead letter is put back on the queue', async () => {
    const res = await stack.request.post('/upload').set(as(bob)).attach('media', fixtures.truncatedJpeg).expect(202);
    await waitFor(async () => (await stack.request.get(res.body.statusUrl).set(as(bob)).expect(200)).body.state === 'failed', { what: 'the truncated JPEG failed' });
    expect(await stack.api.ports.batches.queuedFiles('key:bob')).toBe(0);
    // No worker from here on, so the retried file stays queued while it is counted.
    await stack.stopWorker();
    await stack.admin.post(`/dead-letters/${res.body.jobId}/retry`).set(as(bob)).expect(202);
    expect(await stack.api.ports.batches.queuedFiles('key:bob')).toBe(1);
  });
});

describe('MAX_FILES on POST /uploads/tus/complete', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { MAX_FILES: '1000' } });
  });
  afterAll(() => stack.stop());

  it('reads a body naming MAX_FILES upload ids, rather than refusing it as too large', async () => {
    const uploadIds = Array.from({ length: 1000 }, () => randomUUID());
    const res = await stack.request.post('/uploads/tus/complete').send({ uploadIds }).expect(404);
    expect(res.body.code).toBe('UPLOAD_NOT_FOUND');
  });
});
