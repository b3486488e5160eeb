import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Response, Test } from 'supertest';
import { problems, type ProblemCode } from '../../src/api/errors';
import { generateImage } from '../fixtures/images';
import { pngBomb } from '../fixtures/png-bomb';
import { startStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack';

const MAX_FILES = 3;
// 50 KB: a noisy 400x400 JPEG is well over it, a 32x32 one well under.
const MAX_FILE_SIZE_MB = 0.05;

interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
}

let stack: TestStack;
let redis: Redis;
let smallJpeg: Buffer;
let smallPng: Buffer;
let largeJpeg: Buffer;
let documented: OpenApiDocument;

beforeAll(async () => {
  stack = await startStack({ env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, MAX_FILES: String(MAX_FILES), MAX_FILE_SIZE_MB: String(MAX_FILE_SIZE_MB) } });
  redis = new Redis(stack.world.config.redis.url);
  [smallJpeg, smallPng, largeJpeg] = await Promise.all([
    generateImage({ width: 32, height: 32, format: 'jpeg' }),
    generateImage({ width: 32, height: 32, format: 'png' }),
    generateImage({ width: 400, height: 400, format: 'jpeg' }),
  ]);
  expect(largeJpeg.length).toBeGreaterThan(MAX_FILE_SIZE_MB * 1024 * 1024);
  documented = (await stack.request.get('/openapi.json').expect(200)).body as OpenApiDocument;
});
afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

async function keysUnderPrefix(): Promise<string[]> {
  return (await redis.keys(`${stack.world.prefix}:*`)).sort();
}

const jpegPart = { filename: 'photo.jpg', contentType: 'image/jpeg' };

/** The body of an error answer, after checking what every error answer has in common. */
function expectProblem(res: Response, status: number, code: ProblemCode): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, title: problems[code].title, detail: expect.any(String) });
  // No stack frames, source paths or dependency internals reach the client.
  expect(res.text).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules|\/src\//);
}

/** The route's OpenAPI entry lists this status, naming the code. */
function expectDocumented(method: string, route: string, status: number, code: ProblemCode): void {
  const response = documented.paths[route]?.[method]?.responses[String(status)];
  expect({ route, method, status, description: response?.description }).toEqual({ route, method, status, description: expect.stringContaining(code) });
}

type Upload = (req: TestStack['request']) => Test;

// A raw multipart body, for the cases supertest's form builder refuses to produce.
const part = (boundary: string, field: string, filename: string, content: Buffer | string) =>
  Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from('\r\n'),
  ]);

describe('bad uploads: status, code, and nothing stored or queued', () => {
  it.each<[string, ProblemCode, Upload, string?]>([
    ['a file in the wrong field', 'UNEXPECTED_FIELD', (r) => r.post('/process-images').attach('photos', smallJpeg, jpegPart)],
    ['a form with no files', 'NO_FILES', (r) => r.post('/process-images').field('note', 'no files here')],
    ['an empty multipart form', 'NO_FILES', (r) => r.post('/process-images').set('Content-Type', 'multipart/form-data; boundary=xyz').send('--xyz--\r\n')],
    [`MAX_FILES + 1 (${MAX_FILES + 1}) files`, 'TOO_MANY_FILES', (r) =>
      Array.from({ length: MAX_FILES + 1 }).reduce<Test>((req, _, i) => req.attach('images', smallJpeg, { ...jpegPart, filename: `p${i}.jpg` }), r.post('/process-images'))],
    ['a file over MAX_FILE_SIZE_MB', 'FILE_TOO_LARGE', (r) => r.post('/process-images').attach('images', largeJpeg, jpegPart)],
    ['a PDF named .jpg and sent as image/jpeg', 'UNSUPPORTED_MEDIA_TYPE', (r) => r.post('/process-images').attach('images', Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n'), jpegPart)],
    ['a text file named .jpg', 'UNSUPPORTED_MEDIA_TYPE', (r) => r.post('/process-images').attach('images', Buffer.from('just some words\n'.repeat(20)), jpegPart)],
    ['a zero-byte file named .jpg', 'UNSUPPORTED_MEDIA_TYPE', (r) => r.post('/process-images').attach('images', Buffer.alloc(0), jpegPart)],
    ['an HTML page named .jpg', 'UNSUPPORTED_MEDIA_TYPE', (r) => r.post('/process-images').attach('images', Buffer.from('<!DOCTYPE html><html><script>alert(1)</script></html>'), jpegPart)],
    ['an SVG (rejected unless ALLOW_SVG)', 'UNSUPPORTED_MEDIA_TYPE', (r) => r.post('/process-images').attach('images', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'), { filename: 'logo.svg', contentType: 'image/svg+xml' })],
    ['one text file among good images (the whole batch)', 'UNSUPPORTED_MEDIA_TYPE', (r) =>
      r.post('/process-images').attach('images', smallJpeg, jpegPart).attach('images', smallPng, { filename: 'b.png', contentType: 'image/png' }).attach('images', Buffer.from('not an image at all'), jpegPart)],
    ['one oversized file after good ones (the whole batch)', 'FILE_TOO_LARGE', (r) =>
      r.post('/process-images').attach('images', smallJpeg, jpegPart).attach('images', smallPng, { filename: 'b.png', contentType: 'image/png' }).attach('images', largeJpeg, jpegPart)],
    ['a PNG declaring 20000x20000 pixels', 'TOO_MANY_PIXELS', (r) => r.post('/process-images').attach('images', pngBomb(20_000, 20_000), { filename: 'bomb.png', contentType: 'image/png' })],
    ['multipart without a boundary', 'MALFORMED_MULTIPART', (r) => r.post('/process-images').set('Content-Type', 'multipart/form-data').send(part('abc', 'images', 'a.jpg', smallJpeg))],
    ['a boundary that does not match the body', 'MALFORMED_MULTIPART', (r) =>
      r.post('/process-images').set('Content-Type', 'multipart/form-data; boundary=declared').send(Buffer.concat([part('actual', 'images', 'a.jpg', smallJpeg), Buffer.from('--actual--\r\n')]))],
    ['a body cut off inside a file', 'MALFORMED_MULTIPART', (r) =>
      r.post('/process-images').set('Content-Type', 'multipart/form-data; boundary=cut').send(part('cut', 'images', 'a.jpg', smallJpeg).subarray(0, 400))],
    ['a body cut off after a complete file', 'MALFORMED_MULTIPART', (r) =>
      r.post('/process-images').set('Content-Type', 'multipart/form-data; boundary=cut').send(part('cut', 'images', 'a.jpg', smallJpeg))],
    ['a JSON body', 'NOT_MULTIPART', (r) => r.post('/process-images').send({ images: ['a.jpg'] })],
    ['a raw image body', 'NOT_MULTIPART', (r) => r.post('/process-images').set('Content-Type', 'image/jpeg').send(smallJpeg)],
    ['/upload: a file in the batch field', 'UNEXPECTED_FIELD', (r) => r.post('/upload').attach('images', smallJpeg, jpegPart), '/upload'],
    ['/upload: two files', 'TOO_MANY_FILES', (r) => r.post('/upload').attach('media', smallJpeg, jpegPart).attach('media', smallJpeg, jpegPart), '/upload'],
    ['/upload: a PDF', 'UNSUPPORTED_MEDIA_TYPE', (r) => r.post('/upload').attach('media', Buffer.from('%PDF-1.4\n'), jpegPart), '/upload'],
  ])('rejects %s with %s', async (_name, code, send, route = '/process-images') => {
    const keysBefore = await keysUnderPrefix();

    const res = await send(stack.request);

    expectProblem(res, problems[code].status, code);
    expectDocumented('post', route, problems[code].status, code);
    // Checked at once: the answer must come after the cleanup, not before it.
    expect(readdirSync(stack.world.uploadDir)).toEqual([]);
    expect(await keysUnderPrefix()).toEqual(keysBefore);
    expect(await stack.api.ports.queue.count()).toBe(0);
  });

  it.each([
    ['/process-images', 'images', MAX_FILES, `at most ${MAX_FILES} files`],
    ['/upload', 'media', 1, 'at most 1 file '],
  ])('words TOO_MANY_FILES on %s with that route\'s own limit', async (route, field, limit, words) => {
    const req = stack.request.post(route);
    for (let i = 0; i <= limit; i++) req.attach(field, smallJpeg, { ...jpegPart, filename: `p${i}.jpg` });
    const res = await req.expect(413);
    expect(res.body.detail).toContain(words);
  });
});

describe('reads of unknown or malformed ids', () => {
  const unknown = randomUUID();
  it.each<[string, 'get' | 'post', string, string, ProblemCode]>([
    ['an unknown batch', 'get', `/batches/${unknown}`, '/batches/{batchId}', 'BATCH_NOT_FOUND'],
    ['an unknown job', 'get', `/jobs/${unknown}`, '/jobs/{jobId}', 'JOB_NOT_FOUND'],
    ['the result of an unknown job', 'get', `/jobs/${unknown}/result`, '/jobs/{jobId}/result', 'JOB_NOT_FOUND'],
    ['a retry of an unknown dead letter', 'post', `/dead-letters/${unknown}/retry`, '/dead-letters/{id}/retry', 'DEAD_LETTER_NOT_FOUND'],
    ['a batch id that is not a UUID', 'get', '/batches/12345', '/batches/{batchId}', 'INVALID_ID'],
    ['a job id that is not a UUID', 'get', '/jobs/not-a-uuid', '/jobs/{jobId}', 'INVALID_ID'],
    ['a job id with a path in it', 'get', '/jobs/..%2F..%2Fetc%2Fpasswd/result', '/jobs/{jobId}/result', 'INVALID_ID'],
    ['a UUID of another version', 'get', '/jobs/6ba7b810-9dad-11d1-80b4-00c04fd430c8', '/jobs/{jobId}', 'INVALID_ID'],
    ['a dead-letter id that is not a UUID', 'post', '/dead-letters/abc/retry', '/dead-letters/{id}/retry', 'INVALID_ID'],
    ['a dead-letter page size over the limit', 'get', '/dead-letters?limit=100000', '/dead-letters', 'INVALID_REQUEST'],
    ['a negative dead-letter offset', 'get', '/dead-letters?offset=-1', '/dead-letters', 'INVALID_REQUEST'],
  ])('answers %s with its status and code', async (_name, method, url, route, code) => {
    const res = await stack.admin[method](url);
    expectProblem(res, problems[code].status, code);
    expectDocumented(method, route, problems[code].status, code);
  });

  it.each<[string, string]>([
    ['get', '/nowhere'],
    ['delete', '/batches/3b241101-e2bb-4255-8caf-4136c566a962'],
    ['put', '/process-images'],
  ])('answers %s %s, which is no route, with 404 ROUTE_NOT_FOUND', async (method, url) => {
    const res = await (method === 'get' ? stack.request.get(url) : method === 'delete' ? stack.request.delete(url) : stack.request.put(url));
    expectProblem(res, 404, 'ROUTE_NOT_FOUND');
  });
});

describe('GET /jobs/:jobId/result before the job completed', () => {
  it('answers 404 RESULT_NOT_READY while the job waits (no worker runs in this file)', async () => {
    const accepted = await stack.request.post('/upload').attach('media', smallJpeg, jpegPart).expect(202);
    const res = await stack.request.get(`/jobs/${accepted.body.jobId}/result`);
    expectProblem(res, 404, 'RESULT_NOT_READY');
    expect(res.body.detail).toMatch(/waiting/);
    expectDocumented('get', '/jobs/{jobId}/result', 404, 'RESULT_NOT_READY');
  });
});

describe('health and documentation', () => {
  it('answers GET /healthz and GET /readyz with 200', async () => {
    await stack.request.get('/healthz').expect(200, { status: 'ok' });
    await stack.request.get('/readyz').expect(200, { status: 'ready' });
  });

  it('documents every route the app serves in /openapi.json', () => {
    interface Layer {
      route?: { path: string | string[]; methods: Record<string, boolean> };
      handle?: { stack?: Layer[] };
    }
    const routesOf = (layers: readonly Layer[]): string[] =>
      layers.flatMap(({ route, handle }) =>
        route
          ? Object.keys(route.methods).flatMap((m) => [route.path].flat().map((p) => `${m} ${p.replace(/:(\w+)/g, '{$1}')}`))
          : routesOf(handle?.stack ?? []),
      );
    // The web page's HTML routes are for people, not part of the API the document describes.
    const pages = new Set(['get /openapi.json', 'get /', 'get /b/{batchId}']);
    // bull-board's own Express app serves the dashboard page, out of this walk's reach.
    const dashboard = stack.world.config.http.adminToken ? ['get /admin/queues'] : [];
    const served = [...routesOf((stack.api.app as unknown as { router: { stack: Layer[] } }).router.stack), ...dashboard]
      .filter((r) => !pages.has(r))
      .sort();
    const inDocument = Object.entries(documented.paths)
      .flatMap(([route, methods]) => Object.keys(methods).map((m) => `${m} ${route}`))
      .sort();

    expect(served.length).toBeGreaterThanOrEqual(9);
    expect(inDocument).toEqual(served);
  });

  it("gives the package's own version in /openapi.json, so /docs shows it", () => {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(documented.info.version).toBe(manifest.version);
  });

  it('serves Swagger UI as HTML at /docs', async () => {
    const res = await stack.request.get('/docs/').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/swagger-ui/i);
  });
});
