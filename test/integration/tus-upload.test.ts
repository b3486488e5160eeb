import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import * as tus from 'tus-js-client';
import { IMAGE_QUEUE } from '../../src/queue/jobs';
import { fixtures } from '../fixtures/images';
import { pngBomb } from '../fixtures/png-bomb';
import { startCuttingProxy } from '../helpers/cutting-proxy';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { rawRequest } from '../helpers/raw-http';
import { createTestWorld, waitFor, type TestWorld } from '../helpers/stack';

// An API and a worker start as processes from source (tsx), a few seconds each.
jest.setTimeout(90_000);

const MAX_RESUMABLE_BYTES = 1024 * 1024;
const ORIGIN = 'https://app.example';

/** Uploads `data` with tus-js-client; resolves with the upload URL, rejects with the client's error. */
function tusUpload(data: Buffer, options: { endpoint: string; filename: string; uploadUrl?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(data, {
      endpoint: options.endpoint,
      uploadUrl: options.uploadUrl ?? null,
      metadata: { filename: options.filename },
      // Retrying is the caller's choice here: a cut connection must surface, not be resumed silently.
      retryDelays: [],
      onSuccess: () => (upload.url ? resolve(upload.url) : reject(new Error('no upload URL'))),
      onError: reject,
    });
    upload.start();
  });
}

const idOf = (uploadUrl: string) => uploadUrl.split('/').pop() ?? '';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('resumable uploads (tus) against a real API and worker', () => {
  let world: TestWorld;
  let api: ApiProcess;
  let worker: ServiceProcess;
  let redis: Redis;
  let queue: Queue;
  let endpoint: string;

  const complete = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${api.baseUrl}/uploads/tus/complete`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (res) => ({
      status: res.status,
      type: res.headers.get('content-type'),
      location: res.headers.get('location'),
      replayed: res.headers.get('idempotent-replayed'),
      body: (await res.json()) as Record<string, any>,
    }));
  const jobCount = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
  const tusFiles = () => readdirSync(world.config.resumable.dir);
  const finishedBatch = (batchId: string) =>
    waitFor(
      async () => {
        const batch = (await (await fetch(`${api.baseUrl}/batches/${batchId}`)).json()) as { status: string };
        return ['completed', 'completed-with-errors', 'failed'].includes(batch.status) && batch;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `batch ${batchId} to finish` },
    );

  beforeAll(async () => {
    world = createTestWorld({ MAX_RESUMABLE_SIZE_MB: String(MAX_RESUMABLE_BYTES / 1024 / 1024), CORS_ORIGIN: ORIGIN });
    [api, worker] = await Promise.all([startApiProcess(world, world.env), startWorkerProcess(world)]);
    endpoint = `${api.baseUrl}/uploads/tus`;
    redis = new Redis(world.config.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(IMAGE_QUEUE, { connection: redis, prefix: world.prefix });
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await queue?.close();
    redis?.disconnect();
    await world?.cleanup();
  });

  it('uploads a real photo with tus-js-client and completes it into a batch that finishes', async () => {
    const photo = readFileSync(fixtures.largePhotoJpeg);
    const url = await tusUpload(photo, { endpoint, filename: 'photo.jpg' });
    expect(url).toMatch(/\/uploads\/tus\/[0-9a-f-]{36}$/);

    const accepted = await complete({ uploadIds: [idOf(url)], preset: 'default' });
    expect(accepted.status).toBe(202);
    expect(accepted.location).toBe(`/batches/${accepted.body.batchId}`);
    expect(accepted.body).toMatchObject({ totalFiles: 1, jobs: [{ originalName: 'photo.jpg' }] });
    // Handed over to the upload store: nothing of it is left in the tus directory.
    expect(tusFiles()).toEqual([]);

    const batch = await finishedBatch(accepted.body.batchId);
    expect(batch.status).toBe('completed');
    const job = (await (await fetch(`${api.baseUrl}/jobs/${accepted.body.jobs[0].jobId}`)).json()) as { result: { width: number; height: number; format: string } };
    const input = await sharp(photo).metadata();
    expect(job.result).toMatchObject({ format: 'jpeg', width: 512, height: Math.round((512 * (input.height ?? 0)) / (input.width ?? 1)) });
  });

  it('resumes an upload cut half-way from the offset the server kept, and the output is right', async () => {
    const photo = readFileSync(fixtures.largePhotoJpeg);
    // Past the POST and the PATCH's head, half-way into its body.
    const proxy = await startCuttingProxy(Number(new URL(api.baseUrl).port), Math.floor(photo.length / 2));
    try {
      const viaProxy = `http://127.0.0.1:${proxy.port}/uploads/tus`;
      let uploadUrl = '';
      const first = new Promise<void>((resolve, reject) => {
        const upload = new tus.Upload(photo, {
          endpoint: viaProxy,
          metadata: { filename: 'cut.jpg' },
          retryDelays: [],
          onUploadUrlAvailable: () => {
            uploadUrl = upload.url ?? '';
          },
          onSuccess: () => reject(new Error('expected the upload to be cut')),
          onError: () => resolve(),
        });
        upload.start();
      });
      await first;
      expect(proxy.cut()).toBe(true);
      expect(uploadUrl).not.toBe('');

      const id = idOf(uploadUrl);
      const offset = await waitFor(
        async () => {
          const head = await fetch(`${endpoint}/${id}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
          const value = Number(head.headers.get('upload-offset'));
          return head.status === 200 && value > 0 && value;
        },
        { timeoutMs: 10_000, what: 'the server to keep the bytes that arrived' },
      );
      expect(offset).toBeLessThan(photo.length);
      const incomplete = await complete({ uploadIds: [id] });
      expect(incomplete).toMatchObject({ status: 409, body: { code: 'UPLOAD_INCOMPLETE' } });

      const before = proxy.upstreamBytes();
      const resumedUrl = await tusUpload(photo, { endpoint: viaProxy, filename: 'cut.jpg', uploadUrl: `http://127.0.0.1:${proxy.port}/uploads/tus/${id}` });
      expect(idOf(resumedUrl)).toBe(id);
      // Only the rest crossed the wire again (plus request heads).
      expect(proxy.upstreamBytes() - before).toBeLessThan(photo.length - offset + 4096);
      expect(sha256(readFileSync(path.join(world.config.resumable.dir, id)))).toBe(sha256(photo));

      const accepted = await complete({ uploadIds: [id] });
      expect(accepted.status).toBe(202);
      expect((await finishedBatch(accepted.body.batchId)).status).toBe('completed');
    } finally {
      await proxy.stop();
    }
  });

  it('refuses an upload over MAX_RESUMABLE_SIZE_MB with 413 before any byte is stored', async () => {
    const err = await tusUpload(Buffer.alloc(MAX_RESUMABLE_BYTES + 1), { endpoint, filename: 'big.jpg' }).then(
      () => undefined,
      (e: tus.DetailedError) => e,
    );
    expect(err?.originalResponse?.getStatus()).toBe(413);
    expect(tusFiles()).toEqual([]);
  });

  it.each([
    ['a PDF', 415, 'UNSUPPORTED_MEDIA_TYPE', 'doc.pdf', () => Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n')],
    ['an empty file', 415, 'UNSUPPORTED_MEDIA_TYPE', 'empty.jpg', () => Buffer.alloc(0)],
    ['a PNG declaring 12000 x 12000 pixels', 422, 'TOO_MANY_PIXELS', 'bomb.png', () => pngBomb(12_000, 12_000)],
  ])('refuses %s on complete as multipart would (%i %s), removes it and queues nothing, keeping the request\'s good upload', async (_what, status, code, name, make) => {
    const good = idOf(await tusUpload(readFileSync(fixtures.smallPhotoJpeg), { endpoint, filename: 'good.jpg' }));
    const bad = idOf(await tusUpload(make(), { endpoint, filename: name }));
    const jobsBefore = await jobCount();

    const refused = await complete({ uploadIds: [good, bad] });
    expect(refused).toMatchObject({ status, type: expect.stringContaining('application/problem+json'), body: { code } });
    expect(await jobCount()).toBe(jobsBefore);
    expect(existsSync(path.join(world.config.resumable.dir, bad))).toBe(false);
    expect(await complete({ uploadIds: [bad] })).toMatchObject({ status: 404, body: { code: 'UPLOAD_NOT_FOUND' } });

    // The good upload was neither removed nor claimed.
    const accepted = await complete({ uploadIds: [good] });
    expect(accepted).toMatchObject({ status: 202, body: { totalFiles: 1 } });
  });

  it('lets an upload join one batch only: 409 UPLOAD_ALREADY_USED the second time', async () => {
    const id = idOf(await tusUpload(readFileSync(fixtures.smallPhotoJpeg), { endpoint, filename: 'once.jpg' }));
    const [a, b] = await Promise.all([complete({ uploadIds: [id] }), complete({ uploadIds: [id] })]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    expect([a, b].find((r) => r.status === 409)?.body.code).toBe('UPLOAD_ALREADY_USED');
    expect(await complete({ uploadIds: [id] })).toMatchObject({ status: 409, body: { code: 'UPLOAD_ALREADY_USED' } });
  });

  it('queues several uploads as one batch, and answers a retry with the same Idempotency-Key with the first 202', async () => {
    const ids = await Promise.all(['a.jpg', 'b.png'].map(async (name, i) => idOf(await tusUpload(readFileSync(i ? fixtures.rgbaPng : fixtures.smallPhotoJpeg), { endpoint, filename: name }))));
    const key = `tus-${ids[0]}`;
    const first = await complete({ uploadIds: ids, variants: 'thumbnail,web' }, { 'Idempotency-Key': key });
    expect(first).toMatchObject({ status: 202, body: { totalFiles: 2, jobs: [{ originalName: 'a.jpg' }, { originalName: 'b.png' }] } });
    const retry = await complete({ uploadIds: ids, variants: 'thumbnail,web' }, { 'Idempotency-Key': key });
    expect(retry).toMatchObject({ status: 202, replayed: 'true', body: first.body });
    // The key is checked before the body is read: a retry whose body never comes is answered all the same.
    const port = Number(new URL(api.baseUrl).port);
    const unsent = await rawRequest({ port, path: '/uploads/tus/complete', headers: { 'Content-Type': 'application/json', 'Content-Length': '1000', 'Idempotency-Key': key }, chunks: [], waitMs: 5000 });
    expect({ status: unsent.status, replayed: unsent.headers['idempotent-replayed'], batchId: unsent.body?.batchId }).toEqual({ status: 202, replayed: 'true', batchId: first.body.batchId });
    expect((await finishedBatch(first.body.batchId)).status).toBe('completed');
  });

  it.each([
    ['an unknown upload id', 404, 'UPLOAD_NOT_FOUND', { uploadIds: ['3b241101-e2bb-4255-8caf-4136c566a962'] }],
    ['no ids', 400, 'INVALID_REQUEST', { uploadIds: [] }],
    ['no body', 400, 'INVALID_REQUEST', {}],
    ['an id that is not an upload id', 400, 'INVALID_REQUEST', { uploadIds: ['../../etc/passwd'] }],
    ['an id twice', 400, 'INVALID_REQUEST', { uploadIds: ['3b241101-e2bb-4255-8caf-4136c566a962', '3b241101-e2bb-4255-8caf-4136c566a962'] }],
  ])('answers %s with %i %s', async (_what, status, code, body) => {
    expect(await complete(body)).toMatchObject({ status, body: { code } });
  });

  it('keeps an unknown preset from costing the uploads: 400 UNKNOWN_PRESET, and they can be completed after', async () => {
    const id = idOf(await tusUpload(readFileSync(fixtures.smallPhotoJpeg), { endpoint, filename: 'p.jpg' }));
    expect(await complete({ uploadIds: [id], preset: 'nope' })).toMatchObject({ status: 400, body: { code: 'UNKNOWN_PRESET' } });
    expect(await complete({ uploadIds: [id], variants: ['default'] })).toMatchObject({ status: 202 });
  });

  it('lets the configured origin use tus from a browser: preflight allows its methods and headers, answers expose its headers', async () => {
    const preflight = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'tus-resumable,upload-offset,upload-length,upload-metadata,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')?.split(',')).toEqual(expect.arrayContaining(['POST', 'PATCH', 'HEAD', 'DELETE']));
    expect(preflight.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['Tus-Resumable', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata']));

    const created = await fetch(endpoint, { method: 'POST', headers: { Origin: ORIGIN, 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(created.headers.get('access-control-expose-headers')?.split(',')).toEqual(expect.arrayContaining(['Location', 'Upload-Offset', 'Upload-Length', 'Tus-Resumable', 'Upload-Expires']));
    await fetch(`${api.baseUrl}${created.headers.get('location')}`, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } });
  });

  it('serves tus only for ids it makes, and no GET of an upload', async () => {
    const id = idOf(await tusUpload(readFileSync(fixtures.smallPhotoJpeg), { endpoint, filename: 'g.jpg' }));
    expect((await fetch(`${endpoint}/${id}`)).status).toBe(404);
    const traversal = await fetch(`${endpoint}/..%2F..%2Fpackage.json`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(traversal.status).toBe(404);
  });
});

describe('abandoned resumable uploads', () => {
  let world: TestWorld;
  let api: ApiProcess;

  beforeAll(async () => {
    // Expire after 2 s; the sweep then runs every second.
    world = createTestWorld({ RESUMABLE_EXPIRY_HOURS: String(2 / 3600) });
    api = await startApiProcess(world, world.env);
  });
  afterAll(async () => {
    await api?.stop();
    await world?.cleanup();
  });

  it('are removed by the periodic sweep once expired, and cannot be completed after', async () => {
    const endpoint = `${api.baseUrl}/uploads/tus`;
    const created = await fetch(endpoint, { method: 'POST', headers: { Origin: 'https://elsewhere.example', 'Tus-Resumable': '1.0.0', 'Upload-Length': '1000' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('upload-expires')).toBeTruthy();
    // No CORS_ORIGIN here: tus's own `*` must not open the endpoint to other sites.
    expect(created.headers.get('access-control-allow-origin')).toBeNull();
    const id = idOf(created.headers.get('location') ?? '');
    const patched = await fetch(`${endpoint}/${id}`, {
      method: 'PATCH',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: Buffer.alloc(400, 1),
    });
    expect(patched.headers.get('upload-offset')).toBe('400');
    expect(readdirSync(world.config.resumable.dir).sort()).toEqual([id, `${id}.json`]);

    await waitFor(async () => readdirSync(world.config.resumable.dir).length === 0, { timeoutMs: 10_000, intervalMs: 200, what: 'the sweep to remove the abandoned upload' });
    const res = await fetch(`${api.baseUrl}/uploads/tus/complete`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ uploadIds: [id] }) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('UPLOAD_NOT_FOUND');
  });
});
