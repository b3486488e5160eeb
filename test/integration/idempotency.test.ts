import { randomUUID } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createIdempotencyStore } from '../../src/api/idempotency-store';
import { closeServer, listen } from '../../src/api/server';
import { generateImage } from '../fixtures/images';
import { filesIn } from '../helpers/http';
import { multipartBody, multipartType } from '../helpers/multipart-body';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

/** A request whose headers and first body bytes are sent at once, and whose rest is sent when asked. */
function startPost(port: number, path: string, headers: Record<string, string>, body: Buffer) {
  const boundaryAt = Math.min(200, body.length - 1);
  const req: ClientRequest = httpRequest({ host: '127.0.0.1', port, method: 'POST', path, headers: { ...headers, 'Content-Length': String(body.length) } });
  req.on('error', () => undefined); // the server may close a connection whose body it did not read
  const response = new Promise<{ status: number; headers: IncomingMessage['headers']; body: Record<string, unknown> }>((resolve, reject) => {
    req.once('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
  });
  req.write(body.subarray(0, boundaryAt));
  return { response, finish: () => req.end(body.subarray(boundaryAt)) };
}

describe('Idempotency-Key on the upload routes', () => {
  let stack: TestStack;
  let image: Buffer;
  let redis: Redis;
  beforeAll(async () => {
    stack = await startStack(); // no worker: jobs stay queued, so counting them counts what each request created
    image = await generateImage({ width: 32, height: 24, format: 'png' });
    redis = new Redis(stack.world.config.redis.url);
  });
  afterAll(async () => {
    await redis.quit();
    await stack.stop();
  });

  const world = () => ({ jobs: stack.api.ports.queue.count(), files: filesIn(stack.world.uploadDir).sort() });
  const batchKeys = () => redis.keys(`${stack.world.prefix}:images:batch:*`);

  it('replays the first response for the same key, creating no job, no batch and no file', async () => {
    const key = randomUUID();
    const first = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', image, 'a.png').attach('images', image, 'b.png').expect(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const before = { jobs: await stack.api.ports.queue.count(), files: filesIn(stack.world.uploadDir).sort(), batches: (await batchKeys()).length };

    const again = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', image, 'other.png').expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.body).toEqual(first.body);
    expect({ jobs: await stack.api.ports.queue.count(), files: filesIn(stack.world.uploadDir).sort(), batches: (await batchKeys()).length }).toEqual(before);
  });

  it('scopes keys per route: the same key on /upload is a new upload', async () => {
    const key = randomUUID();
    const batch = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', image, 'a.png').expect(202);
    const single = await stack.request.post('/upload').set('Idempotency-Key', key).attach('media', image, 'a.png').expect(202);
    expect(single.headers['idempotent-replayed']).toBeUndefined();
    expect(single.body.batchId).not.toBe(batch.body.batchId);
    const replay = await stack.request.post('/upload').set('Idempotency-Key', key).attach('media', image, 'a.png').expect(202);
    expect({ replayed: replay.headers['idempotent-replayed'], body: replay.body, location: replay.headers.location }).toEqual({ replayed: 'true', body: single.body, location: single.headers.location });
  });

  it('does not keep the key of a failed first attempt (a non-image, 415)', async () => {
    const key = randomUUID();
    const refused = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', Buffer.from('%PDF-1.7 not an image'), 'doc.pdf');
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const accepted = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', image, 'a.png').expect(202);
    expect(accepted.headers['idempotent-replayed']).toBeUndefined();
    const replay = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', image, 'a.png').expect(202);
    expect(replay.body.batchId).toBe(accepted.body.batchId);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé-1'],
  ])('refuses a key that is %s with 400 INVALID_IDEMPOTENCY_KEY, storing nothing', async (_name, key) => {
    const before = await world().jobs;
    const files = filesIn(stack.world.uploadDir).sort();
    const res = await stack.request.post('/process-images').set('Idempotency-Key', key).attach('images', image, 'a.png');
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'INVALID_IDEMPOTENCY_KEY' });
    expect(await stack.api.ports.queue.count()).toBe(before);
    expect(filesIn(stack.world.uploadDir).sort()).toEqual(files);
  });

  it('lets the claim of a request that never answered (an API killed mid-request) expire', async () => {
    const store = createIdempotencyStore(stack.api.ports.redis, { prefix: stack.world.prefix, claimTtlMs: 300, replayTtlMs: 60_000 });
    const key = randomUUID();
    expect((await store.claim('POST /process-images', key)).kind).toBe('claimed');
    expect((await store.claim('POST /process-images', key)).kind).toBe('in-progress');
    await waitFor(async () => (await store.claim('POST /process-images', key)).kind === 'claimed', { timeoutMs: 5000, what: 'the claim to expire' });
  });

  it('documents the header, the fields and the codes', async () => {
    const doc = (await stack.request.get('/openapi.json').expect(200)).body;
    for (const path of ['/process-images', '/upload']) {
      const op = doc.paths[path].post;
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'Idempotency-Key' })]));
      expect(Object.keys(op.requestBody.content['multipart/form-data'].schema.properties)).toEqual(expect.arrayContaining(['delayMs', 'processAt', 'priority']));
      expect(op.responses['409'].description).toMatch(/IDEMPOTENCY_IN_PROGRESS/);
      expect(op.responses['400'].description).toMatch(/INVALID_SCHEDULE.*INVALID_PRIORITY.*INVALID_IDEMPOTENCY_KEY/);
      expect(op.responses['202'].headers).toHaveProperty('Idempotent-Replayed');
    }
    expect(doc.components.schemas.BatchStatus.properties.status.enum).toContain('scheduled');
  });

  it.each(['/process-urls', '/uploads/tus/complete', '/uploads/{uploadId}/complete'])('documents the header and its codes on the JSON route %s too', async (path) => {
    const op = (await stack.request.get('/openapi.json').expect(200)).body.paths[path].post;
    expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'Idempotency-Key' })]));
    expect(op.responses['409'].description).toMatch(/IDEMPOTENCY_IN_PROGRESS/);
    expect(op.responses['400'].description).toMatch(/INVALID_IDEMPOTENCY_KEY/);
    expect(op.responses['202'].headers).toHaveProperty('Idempotent-Replayed');
  });

  describe('over real HTTP', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => closeServer(server, 1000));

    it('answers a duplicate of a request still in flight with 409 at once, without reading its body; the first then completes and is replayed', async () => {
      const key = randomUUID();
      const boundary = `b-${randomUUID()}`;
      const body = multipartBody(boundary, [{ name: 'images', filename: 'slow.png', contentType: 'image/png', data: image }]);
      const headers = { 'Content-Type': multipartType(boundary), 'Idempotency-Key': key };
      const first = startPost(port, '/process-images', headers, body);
      const claimed = async () => {
        const keys = await redis.keys(`${stack.world.prefix}:idempotency:*`);
        const values = keys.length ? await redis.mget(...keys) : [];
        return values.some((v) => v?.startsWith('claim:'));
      };
      await waitFor(claimed, { what: 'the first request to claim its key' });
      const countBefore = await stack.api.ports.queue.count();

      const duplicate = startPost(port, '/process-images', headers, body); // never finishes sending: it must be answered anyway
      const conflict = await duplicate.response;
      expect({ status: conflict.status, code: conflict.body.code, connection: conflict.headers.connection }).toEqual({ status: 409, code: 'IDEMPOTENCY_IN_PROGRESS', connection: 'close' });

      first.finish();
      const accepted = await first.response;
      expect(accepted.status).toBe(202);
      expect(await stack.api.ports.queue.count()).toBe(countBefore + 1);

      const replay = startPost(port, '/process-images', headers, body); // a replay too is answered before the files are sent
      const replayed = await replay.response;
      expect({ status: replayed.status, replayed: replayed.headers['idempotent-replayed'], batchId: replayed.body.batchId, connection: replayed.headers.connection }).toEqual({
        status: 202,
        replayed: 'true',
        batchId: accepted.body.batchId,
        connection: 'close',
      });
      expect(await stack.api.ports.queue.count()).toBe(countBefore + 1);
    });
  });
});
