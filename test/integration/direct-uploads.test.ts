import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { directUploadFileKey } from '../../src/queue/direct-upload-keys';
import { sweepOrphanUploads } from '../../src/worker/orphan-uploads';
import { fixtures } from '../fixtures/images';
import { pngBomb } from '../fixtures/png-bomb';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

jest.setTimeout(60_000);

interface Started {
  uploadId: string;
  expiresAt: string;
  files: { fileId: string; url: string; method: 'PUT'; headers: Record<string, string> }[];
}

const photo = readFileSync(fixtures.photoJpeg);
const png = readFileSync(fixtures.rgbaPng);

/** Real PUTs of the bytes to the signed URLs, as a browser or an SDK would send them. */
async function putAll(started: Started, bodies: readonly Buffer[]): Promise<void> {
  for (const [i, file] of started.files.entries()) {
    const body = bodies[i];
    if (body === undefined) continue;
    const res = await fetch(file.url, { method: file.method, headers: file.headers, body });
    expect(res.status).toBe(200);
  }
}

describe('direct uploads with STORAGE_DRIVER=local', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it.each([
    ['POST /uploads', (s: TestStack) => s.request.post('/uploads').send({ files: [{ name: 'a.jpg', size: 10, contentType: 'image/jpeg' }] })],
    ['POST /uploads/:id/complete', (s: TestStack) => s.request.post(`/uploads/${randomUUID()}/complete`).send({})],
  ])('answers %s with 501 DIRECT_UPLOADS_UNSUPPORTED', async (_route, send) => {
    const res = await send(stack).expect(501);
    expect(res.body.code).toBe('DIRECT_UPLOADS_UNSUPPORTED');
  });

  it('documents both routes with their codes, and the result route\'s 302, in the OpenAPI document', async () => {
    type Operation = { responses: Record<string, { description: string }> };
    const { paths } = (await stack.request.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, Operation>> };
    const start = paths['/uploads']?.post?.responses ?? {};
    const complete = paths['/uploads/{uploadId}/complete']?.post?.responses ?? {};
    expect(Object.keys(start).sort()).toEqual(['201', '400', '401', '413', '415', '429', '500', '501', '503']);
    expect(complete['409']?.description).toMatch(/UPLOAD_ALREADY_COMPLETED.*UPLOAD_INCOMPLETE/);
    expect(complete['501']?.description).toContain('DIRECT_UPLOADS_UNSUPPORTED');
    expect(complete['503']?.description).toContain('STORAGE_UNAVAILABLE');
    expect(Object.keys(complete)).toEqual(expect.arrayContaining(['202', '400', '404', '413', '415', '422']));
    expect(paths['/jobs/{jobId}/result']?.get?.responses['302']?.description).toMatch(/signed URL/);
  });
});

describe('direct uploads with STORAGE_DRIVER=s3', () => {
  let s3: S3Server;
  let stack: TestStack;
  const start = async (files: { name: string; size: number; contentType: string }[]) => (await stack.request.post('/uploads').send({ files }).expect(201)).body as Started;
  const stored = async (fileId: string) => stack.api.ports.files.uploads.stat(fileId);
  const jobCount = async () => Object.values(await stack.api.ports.queue.getJobCounts()).reduce((a, b) => a + b, 0);
  /**
   * How many DELETEs of each file's object s3rver has carried out. Not those it answered 500:
   * two concurrent DELETEs that empty its folder race in its clean-up now and then, and the SDK
   * retries the loser, which is one delete sent twice, not two deletes.
   */
  const deletesOf = (started: Started) => started.files.map((f) => s3.answered.filter((r) => r.method === 'DELETE' && r.url.includes(f.fileId) && r.status < 500).length);

  beforeAll(async () => {
    s3 = await startS3Server();
    stack = await startStack({ env: { ...s3.env, MAX_FILES: '3', MAX_FILE_SIZE_MB: '1' }, worker: true });
  });
  afterAll(async () => {
    await stack.stop();
    await s3.stop();
  });

  it('signs one PUT per file, queues them on completion exactly like /process-images, and the batch completes', async () => {
    const started = await start([{ name: 'flowers.jpeg', size: photo.length, contentType: 'image/jpeg' }, { name: 'bug.png', size: png.length, contentType: 'image/png' }]);
    expect(started.files).toHaveLength(2);
    expect(Date.parse(started.expiresAt) - Date.now()).toBeGreaterThan(800_000); // S3_URL_TTL_S, 900 s
    expect(started.files[0]).toMatchObject({ method: 'PUT', headers: { 'Content-Type': 'image/jpeg' } });
    await putAll(started, [photo, png]);

    const res = await stack.request.post(`/uploads/${started.uploadId}/complete`).send({ variants: ['thumbnail', 'web'] }).expect(202);
    expect(res.headers.location).toBe(`/batches/${res.body.batchId}`);
    expect(res.body).toMatchObject({ totalFiles: 2, jobs: [{ jobId: started.files[0]?.fileId, originalName: 'flowers.jpeg' }, { jobId: started.files[1]?.fileId, originalName: 'bug.png' }] });
    const batch = await waitFor(async () => {
      const b = (await stack.request.get(`/batches/${res.body.batchId}`)).body as { status: string; files: { result?: { variants: { name: string; format: string }[] } }[] };
      return b.status !== 'waiting' && b.status !== 'processing' && b;
    }, { what: 'the batch to finish' });
    expect(batch.status).toBe('completed');
    expect(batch.files.map((f) => f.result?.variants.map((v) => `${v.name}:${v.format}`))).toEqual([['thumbnail:webp', 'web:webp'], ['thumbnail:webp', 'web:webp']]);
    const redirect = await stack.request.get(`/jobs/${started.files[0]?.fileId}/result?variant=web`).expect(302);
    const served = await fetch(redirect.headers.location as string);
    expect(served.headers.get('content-type')).toBe('image/webp');

    const again = await stack.request.post(`/uploads/${started.uploadId}/complete`).send({}).expect(409);
    expect(again.body.code).toBe('UPLOAD_ALREADY_COMPLETED');
  });

  it.each([
    ['no files', 400, 'NO_FILES', { files: [] }],
    ['more files than MAX_FILES', 413, 'TOO_MANY_FILES', { files: Array.from({ length: 4 }, () => ({ name: 'a.jpg', size: 10, contentType: 'image/jpeg' })) }],
    ['a file over MAX_FILE_SIZE_MB', 413, 'FILE_TOO_LARGE', { files: [{ name: 'a.jpg', size: 1024 * 1024 + 1, contentType: 'image/jpeg' }] }],
    ['a type that is not an image', 415, 'UNSUPPORTED_MEDIA_TYPE', { files: [{ name: 'a.pdf', size: 10, contentType: 'application/pdf' }] }],
    ['SVG while ALLOW_SVG is off', 415, 'UNSUPPORTED_MEDIA_TYPE', { files: [{ name: 'a.svg', size: 10, contentType: 'image/svg+xml' }] }],
    ['a size that is not a positive integer', 400, 'INVALID_REQUEST', { files: [{ name: 'a.jpg', size: 0, contentType: 'image/jpeg' }] }],
    ['no files field', 400, 'INVALID_REQUEST', { images: [] }],
  ])('refuses a session with %s: %i %s', async (_name, status, code, body) => {
    const res = await stack.request.post('/uploads').send(body).expect(status);
    expect(res.body.code).toBe(code);
  });

  it.each([
    ['a file that is not an image', Buffer.from('%PDF-1.7 not an image at all, padded '.repeat(4)), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a PNG declaring 20000x20000 pixels', pngBomb(20_000, 20_000), 422, 'TOO_MANY_PIXELS'],
  ])('refuses %s at completion, deleting every file of the upload once and queuing nothing', async (_name, bad, status, code) => {
    const before = await jobCount();
    const started = await start([{ name: 'good.jpeg', size: photo.length, contentType: 'image/jpeg' }, { name: 'bad.png', size: bad.length, contentType: 'image/png' }]);
    await putAll(started, [photo, bad]);
    const res = await stack.request.post(`/uploads/${started.uploadId}/complete`).expect(status);
    expect(res.body.code).toBe(code);
    for (const file of started.files) expect(await stored(file.fileId)).toBeUndefined();
    expect(deletesOf(started)).toEqual([1, 1]);
    expect(await jobCount()).toBe(before);
    const again = await stack.request.post(`/uploads/${started.uploadId}/complete`).expect(404);
    expect(again.body.code).toBe('UPLOAD_NOT_FOUND');
  });

  it('refuses a file whose size is not the declared one (400 UPLOAD_SIZE_MISMATCH) and deletes it', async () => {
    const started = await start([{ name: 'short.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    // s3rver does not check the signed Content-Length (S3 and MinIO do), so the API must.
    await putAll(started, [photo.subarray(0, 1000)]);
    const res = await stack.request.post(`/uploads/${started.uploadId}/complete`).expect(400);
    expect(res.body.code).toBe('UPLOAD_SIZE_MISMATCH');
    expect(await stored(started.files[0]?.fileId ?? '')).toBeUndefined();
    expect(deletesOf(started)).toEqual([1]);
  });

  it('answers 409 UPLOAD_INCOMPLETE while a file has not arrived, keeping the rest, and completes once it has', async () => {
    const started = await start([{ name: 'one.jpeg', size: photo.length, contentType: 'image/jpeg' }, { name: 'two.png', size: png.length, contentType: 'image/png' }]);
    await putAll(started, [photo]);
    const early = await stack.request.post(`/uploads/${started.uploadId}/complete`).expect(409);
    expect(early.body).toMatchObject({ code: 'UPLOAD_INCOMPLETE', detail: expect.stringContaining("'two.png'") });
    expect(await stored(started.files[0]?.fileId ?? '')).toMatchObject({ size: photo.length });
    await putAll(started, [photo, png]);
    await stack.request.post(`/uploads/${started.uploadId}/complete`).expect(202);
  });

  it('keeps the files of a bad-options completion, so it can be completed again with good ones', async () => {
    const started = await start([{ name: 'one.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    await putAll(started, [photo]);
    const bad = await stack.request.post(`/uploads/${started.uploadId}/complete`).send({ preset: 'nosuchpreset' }).expect(400);
    expect(bad.body.code).toBe('UNKNOWN_PRESET');
    await stack.request.post(`/uploads/${started.uploadId}/complete`).send({ preset: 'thumbnail', priority: 'high' }).expect(202);
  });

  it('answers a completion retried with the same Idempotency-Key with the first 202, whatever its body, queuing nothing more', async () => {
    const started = await start([{ name: 'retried.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    await putAll(started, [photo]);
    const complete = () => stack.request.post(`/uploads/${started.uploadId}/complete`).set('Idempotency-Key', `direct-${started.uploadId}`);
    const first = await complete().send({ preset: 'thumbnail' }).expect(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const jobs = await jobCount();
    // As on the other upload routes, the key alone identifies the request: another body gets the first answer too.
    const retry = await complete().send({ preset: 'web' }).expect(202);
    expect({ replayed: retry.headers['idempotent-replayed'], location: retry.headers.location, body: retry.body }).toEqual({ replayed: 'true', location: first.headers.location, body: first.body });
    expect(await jobCount()).toBe(jobs);
  });

  it('scopes an Idempotency-Key to its upload, and frees it after a completion that failed', async () => {
    const key = randomUUID();
    const complete = (started: Started) => stack.request.post(`/uploads/${started.uploadId}/complete`).set('Idempotency-Key', key).send({});
    const one = await start([{ name: 'one.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    const two = await start([{ name: 'two.jpeg', size: photo.length, contentType: 'image/jpeg' }, { name: 'two.png', size: png.length, contentType: 'image/png' }]);
    await putAll(one, [photo]);
    await putAll(two, [photo]);
    expect((await complete(two).expect(409)).body.code).toBe('UPLOAD_INCOMPLETE');
    const first = await complete(one).expect(202);
    await putAll(two, [photo, png]);
    const second = await complete(two).expect(202);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(second.body).toMatchObject({ totalFiles: 2, jobs: [{ jobId: two.files[0]?.fileId }, { jobId: two.files[1]?.fileId }] });
    expect(second.body.batchId).not.toBe(first.body.batchId);
  });

  it.each([
    ['an unknown upload', 404, 'UPLOAD_NOT_FOUND', () => `/uploads/${randomUUID()}/complete`],
    ['a malformed upload id', 400, 'INVALID_ID', () => '/uploads/not-a-uuid/complete'],
  ])('answers %s with %i %s', async (_name, status, code, url) => {
    const res = await stack.request.post(url()).expect(status);
    expect(res.body.code).toBe(code);
  });

  it('lets the orphan sweep keep a live session\'s files and remove an expired session\'s', async () => {
    const { ports, world } = { ports: stack.api.ports, world: stack.world };
    const sweep = () => sweepOrphanUploads({ store: ports.files.uploads, graceMs: 0, redis: ports.redis, queues: [ports.queue, ports.deadLetters, { toKey: (id) => directUploadFileKey(world.prefix, id) }], completedKey: ports.queue.toKey('completed') });
    const live = await start([{ name: 'live.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    const expired = await start([{ name: 'gone.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    await putAll(live, [photo]);
    await putAll(expired, [photo]);
    // What the session's TTL (twice S3_URL_TTL_S) does in Redis, without waiting for it.
    await ports.redis.del(`${world.prefix}:direct-upload:${expired.uploadId}`, directUploadFileKey(world.prefix, expired.files[0]?.fileId ?? ''));

    const { removed } = await sweep();
    expect(removed).toContain(expired.files[0]?.fileId);
    expect(removed).not.toContain(live.files[0]?.fileId);
    expect(await stored(live.files[0]?.fileId ?? '')).toBeDefined();
    expect((await stack.request.post(`/uploads/${expired.uploadId}/complete`).expect(404)).body.code).toBe('UPLOAD_NOT_FOUND');
  });

  it('keeps a session in Redis for twice S3_URL_TTL_S', async () => {
    const started = await start([{ name: 'ttl.jpeg', size: photo.length, contentType: 'image/jpeg' }]);
    const ttl = await stack.api.ports.redis.pttl(`${stack.world.prefix}:direct-upload:${started.uploadId}`);
    expect(ttl).toBeGreaterThan(1_790_000);
    expect(ttl).toBeLessThanOrEqual(1_800_000);
    expect(await stack.api.ports.redis.pttl(directUploadFileKey(stack.world.prefix, started.files[0]?.fileId ?? ''))).toBeGreaterThan(1_790_000);
  });
});

describe('direct uploads with API keys', () => {
  let s3: S3Server;
  let stack: TestStack;
  let alice: CreatedKey;
  let bob: CreatedKey;
  const as = (who: CreatedKey) => ({ 'X-API-Key': who.key });
  const declared = [{ name: 'flowers.jpeg', size: photo.length, contentType: 'image/jpeg' }];

  beforeAll(async () => {
    [alice, bob] = await Promise.all([createKey('Alice'), createKey('Bob')]);
    s3 = await startS3Server();
    stack = await startStack({ env: { ...s3.env, API_KEYS: `${alice.env},${bob.env}` } });
  });
  afterAll(async () => {
    await stack.stop();
    await s3.stop();
  });

  it('lets only the key that started an upload complete it: another key gets the 404 of an unknown upload, and takes no claim', async () => {
    const started = (await stack.request.post('/uploads').set(as(alice)).send({ files: declared }).expect(201)).body as Started;
    await putAll(started, [photo]);

    const stolen = await stack.request.post(`/uploads/${started.uploadId}/complete`).set(as(bob)).send({}).expect(404);
    const unknownId = randomUUID();
    const unknown = await stack.request.post(`/uploads/${unknownId}/complete`).set(as(bob)).send({}).expect(404);
    expect(stolen.body.code).toBe('UPLOAD_NOT_FOUND');
    expect(stolen.body.detail).toBe(unknown.body.detail.replace(unknownId, started.uploadId));
    expect(await stack.api.ports.files.uploads.stat(started.files[0]?.fileId ?? '')).toBeDefined();

    const done = await stack.request.post(`/uploads/${started.uploadId}/complete`).set(as(alice)).send({}).expect(202);
    // Completed: still 404 for the other key (not 409, which would tell it the upload exists).
    expect((await stack.request.post(`/uploads/${started.uploadId}/complete`).set(as(bob)).send({}).expect(404)).body.code).toBe('UPLOAD_NOT_FOUND');
    expect((await stack.request.post(`/uploads/${started.uploadId}/complete`).set(as(alice)).send({}).expect(409)).body.code).toBe('UPLOAD_ALREADY_COMPLETED');

    const ids = async (who: CreatedKey) => ((await stack.request.get('/batches').set(as(who)).expect(200)).body.items as { batchId: string }[]).map((b) => b.batchId);
    expect(await ids(alice)).toContain(done.body.batchId);
    expect(await ids(bob)).not.toContain(done.body.batchId);
    expect((await stack.request.get(`/batches/${done.body.batchId}`).set(as(bob)).expect(404)).body.code).toBe('BATCH_NOT_FOUND');
  });
});
