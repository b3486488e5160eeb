import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Response } from 'supertest';
import { problems, type ProblemCode } from '../../src/api/errors';
import { composeWorker, type WorkerContext } from '../../src/worker/compose';
import { createShutdown } from '../../src/shutdown';
import { fixtures, generateImage } from '../fixtures/images';
import {
  classicGifPolyglot,
  gifHeaderThenScript,
  jpegHeaderThenHtml,
  jpegWithDistantFrameHeader,
  pngSignatureThenZip,
  validGifJsPolyglot,
  webpWithPatchedCanvas,
  zipArchive,
} from '../fixtures/hostile-files';
import { pngBomb } from '../fixtures/png-bomb';
import { multipartBody, multipartType, type Part } from '../helpers/multipart-body';
import { createTestWorld, startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

const BOUNDARY = 'hostile-input-boundary';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Route = '/process-images' | '/upload';

/** One hostile request: a body and the Content-Type it claims. */
interface Attack {
  readonly route: Route;
  readonly contentType: string;
  readonly body: Buffer | string;
}

const fieldOf = (route: Route) => (route === '/upload' ? 'media' : 'images');

/** A well-formed multipart request carrying `files` in the route's field. */
function upload(files: ReadonlyArray<Omit<Part, 'name'>>, route: Route = '/process-images'): Attack {
  return { route, contentType: multipartType(BOUNDARY), body: multipartBody(BOUNDARY, files.map((f) => ({ name: fieldOf(route), ...f }))) };
}

const file = (filename: string, contentType: string, data: Buffer | string) => ({ filename, contentType, data });

let goodJpeg: Buffer;
const bombs: Record<string, Buffer> = {};

beforeAll(async () => {
  goodJpeg = await generateImage({ width: 64, height: 48, format: 'jpeg' });
  bombs.png16k = pngBomb(16_000, 16_000);
  bombs.png20k = pngBomb(20_000, 20_000);
  bombs.distantJpeg = jpegWithDistantFrameHeader(goodJpeg, 20_000, 20_000);
  // 99.99 MP: under MAX_INPUT_PIXELS, but a canvas costs about five bytes a pixel to decode.
  bombs.webpCanvas = webpWithPatchedCanvas(readFileSync(fixtures.animatedWebp), 10_000, 9_999);
});

const filesIn = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.'));

async function jobCount(stack: TestStack): Promise<number> {
  const counts = await stack.api.ports.queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function acceptGood(stack: TestStack, files: number): Promise<string> {
  const res = await sendAttack(stack, upload(Array.from({ length: files }, (_, i) => file(`good-${i}.jpg`, 'image/jpeg', goodJpeg))));
  expect(res.status).toBe(202);
  return res.body.batchId as string;
}

function sendAttack(stack: TestStack, attack: Attack) {
  return stack.request.post(attack.route).set('Content-Type', attack.contentType).send(attack.body);
}

/** Waits until every file of the batch finished, one way or the other, and returns its status. */
async function finishedBatch(stack: TestStack, batchId: string) {
  return waitFor(
    async () => {
      const res = await stack.request.get(`/batches/${batchId}`).expect(200);
      return ['completed', 'completed-with-errors', 'failed'].includes(res.body.status) && res.body;
    },
    { what: `batch ${batchId} finished` },
  );
}

interface Aftermath {
  readonly res: Response;
  /** Files that appeared in the upload directory during the attack. */
  readonly newFiles: string[];
  /** Jobs that appeared on the queue during the attack. */
  readonly newJobs: number;
}

/**
 * Runs one attack the way a sceptical operator would watch it. A good batch is accepted first
 * and held in the (paused) queue while the attack runs; then the queue resumes, and that batch
 * and a good upload sent after the attack must both complete: the service is up and nothing
 * already accepted was disturbed.
 */
async function underAttack(stack: TestStack, attack: Attack): Promise<Aftermath> {
  const queue = stack.api.ports.queue;
  await queue.pause();
  let aftermath: Aftermath;
  let before: string;
  try {
    before = await acceptGood(stack, 2);
    const filesBefore = new Set(filesIn(stack.world.uploadDir));
    const jobsBefore = await jobCount(stack);
    const res = await sendAttack(stack, attack);
    aftermath = { res, newFiles: filesIn(stack.world.uploadDir).filter((f) => !filesBefore.has(f)), newJobs: (await jobCount(stack)) - jobsBefore };
  } finally {
    await queue.resume();
  }
  const after = await acceptGood(stack, 1);
  for (const batchId of [before, after]) expect((await finishedBatch(stack, batchId)).status).toBe('completed');
  return aftermath;
}

/** A rejected attack: its status and code, problem+json, and nothing stored or queued. */
function expectRejected({ res, newFiles, newJobs }: Aftermath, code: ProblemCode): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status: problems[code].status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect({ newFiles, newJobs }).toEqual({ newFiles: [], newJobs: 0 });
}

/** An accepted attack: one job per file, each stored under a generated name. */
async function expectAccepted(stack: TestStack, { res, newFiles, newJobs }: Aftermath): Promise<{ batchId: string; jobIds: string[] }> {
  expect(res.status).toBe(202);
  const jobIds: string[] = res.body.jobs?.map((j: { jobId: string }) => j.jobId) ?? [res.body.jobId];
  expect(newJobs).toBe(jobIds.length);
  const stored = await Promise.all(jobIds.map(async (id) => (await stack.api.ports.queue.getJob(id))?.data.inputFile));
  expect(newFiles.sort()).toEqual([...stored].sort());
  for (const name of newFiles) expect(name).toMatch(UUID_V4);
  return { batchId: res.body.batchId, jobIds };
}

async function deadLetter(stack: TestStack, jobId: string) {
  const list = await stack.admin.get('/dead-letters?limit=200').expect(200);
  return list.body.items.find((d: { id: string }) => d.id === jobId);
}

/** The file failed for good on its first attempt, with a reason starting with `code`, and sits in the DLQ. */
async function expectDeadLettered(stack: TestStack, batchId: string, jobId: string, code: string): Promise<void> {
  const batch = await finishedBatch(stack, batchId);
  expect(batch.status).toBe('failed');
  const job = (await stack.request.get(`/jobs/${jobId}`).expect(200)).body;
  expect(job).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: expect.stringMatching(new RegExp(`^${code}: `)) });
  expect(await deadLetter(stack, jobId)).toMatchObject({ attemptsMade: 1, failedReason: job.failedReason });
}

describe('hostile input against the default configuration', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: true, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  });
  afterAll(() => stack.stop());

  describe('rejected at upload: status, code, nothing stored or queued', () => {
    const php = '<?php system($_GET["cmd"]); ?>';
    const svgScript = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>';
    it.each<[string, ProblemCode, () => Attack]>([
      ['a PHP web shell named shell.jpg, sent as image/jpeg', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('shell.jpg', 'image/jpeg', php)])],
      ['an ELF executable named x.png, sent as image/png', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.png', 'image/png', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(120)]))])],
      ['a Windows executable named x.gif, sent as image/gif', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.gif', 'image/gif', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(120)]))])],
      ['a ZIP archive named x.webp, sent as image/webp', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.webp', 'image/webp', zipArchive())])],
      ['a RIFF WAVE file (RIFF, like WebP) named x.webp', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.webp', 'image/webp', Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), Buffer.alloc(100)]))])],
      ['an MP4 (ISO-BMFF, like AVIF) named x.avif', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.avif', 'image/avif', Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2', 'latin1'), Buffer.alloc(100)]))])],
      ['an HTML page with <script> named x.png, sent as image/png', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.png', 'image/png', `<html><script>fetch('/dead-letters')</script></html>`)])],
      ['an HTML page that starts with an inline <svg onload>', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('x.svg', 'image/svg+xml', '<html><svg onload=alert(1)></svg></html>')])],
      ['an SVG with <script> (SVG is off by default)', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('logo.svg', 'image/svg+xml', svgScript)])],
      ['an SVG with onload= behind an XML declaration, named .png', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('logo.png', 'image/png', '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')])],
      ['an SVG with <script> behind a UTF-8 BOM', 'UNSUPPORTED_MEDIA_TYPE', () => upload([file('logo.svg', 'image/svg+xml', `\ufeff  ${svgScript}`)])],
      ["a 16000x16000 PNG (256 MP: under sharp's own 268 MP default, over our 100 MP)", 'TOO_MANY_PIXELS', () => upload([file('bomb.png', 'image/png', bombs.png16k as Buffer)])],
      ['a 20000x20000 PNG (400 MP in 48 KB) on /upload', 'TOO_MANY_PIXELS', () => upload([file('bomb.png', 'image/png', bombs.png20k as Buffer)], '/upload')],
      ['a PNG bomb after two good images (the whole batch goes)', 'TOO_MANY_PIXELS', () => upload([file('a.jpg', 'image/jpeg', goodJpeg), file('b.jpg', 'image/jpeg', goodJpeg), file('bomb.png', 'image/png', bombs.png16k as Buffer)])],
      ['an 8 KB animated WebP whose canvas is patched to 10000x9999 (under 100 MP, over the decode budget)', 'TOO_MANY_PIXELS', () => upload([file('anim.webp', 'image/webp', bombs.webpCanvas as Buffer)])],
      ['the classic "GIF89a/*…*/=alert(1)" polyglot: its /* */ bytes declare 10799x12074 px', 'TOO_MANY_PIXELS', () => upload([file('x.gif', 'image/gif', classicGifPolyglot())])],
      ['a file name holding a raw NUL byte (busboy refuses the part header)', 'MALFORMED_MULTIPART', () => upload([file('a\u0000b.jpg', 'image/jpeg', goodJpeg)])],
      // The CR LF ends the header line inside the quotes: busboy finds no file name, so the part is a text field.
      ['a file name holding a raw CR LF (part header injection): no file is found', 'NO_FILES', () => upload([file('a.jpg\r\nContent-Type: text/html', 'image/jpeg', goodJpeg)])],
      ['21 text fields (limit 20)', 'TOO_MANY_PARTS', () => ({ ...upload([]), body: multipartBody(BOUNDARY, [...Array.from({ length: 21 }, (_, i) => ({ name: `f${i}`, data: 'x' })), { name: 'images', ...file('a.jpg', 'image/jpeg', goodJpeg) }]) })],
      ['a 1 MB text field (limit 64 KB)', 'FIELD_TOO_LARGE', () => ({ ...upload([]), body: multipartBody(BOUNDARY, [{ name: 'note', data: 'x'.repeat(1024 * 1024) }, { name: 'images', ...file('a.jpg', 'image/jpeg', goodJpeg) }]) })],
      ['a 1 KB field name (limit 200 bytes)', 'FIELD_TOO_LARGE', () => ({ ...upload([]), body: multipartBody(BOUNDARY, [{ name: 'n'.repeat(1024), data: 'x' }, { name: 'images', ...file('a.jpg', 'image/jpeg', goodJpeg) }]) })],
      ['multipart with an empty boundary parameter: no part is found', 'NO_FILES', () => ({ ...upload([file('a.jpg', 'image/jpeg', goodJpeg)]), contentType: 'multipart/form-data; boundary=' })],
      ['multipart with a charset but no boundary', 'MALFORMED_MULTIPART', () => ({ ...upload([file('a.jpg', 'image/jpeg', goodJpeg)]), contentType: 'multipart/form-data; charset=utf-8' })],
      ['multipart/form-data with an empty body', 'MALFORMED_MULTIPART', () => ({ ...upload([]), body: '' })],
      ['a multipart body labelled text/plain', 'NOT_MULTIPART', () => ({ ...upload([file('a.jpg', 'image/jpeg', goodJpeg)]), contentType: 'text/plain' })],
      ['a multipart body labelled application/json', 'NOT_MULTIPART', () => ({ ...upload([file('a.jpg', 'image/jpeg', goodJpeg)]), contentType: 'application/json' })],
      ['a multipart body labelled multipart/mixed', 'NOT_MULTIPART', () => ({ ...upload([file('a.jpg', 'image/jpeg', goodJpeg)]), contentType: multipartType(BOUNDARY).replace('form-data', 'mixed') })],
      ['an url-encoded form', 'NOT_MULTIPART', () => ({ route: '/upload', contentType: 'application/x-www-form-urlencoded', body: 'media=%FF%D8%FF' })],
    ])('rejects %s with %s', async (_name, code, make) => {
      expectRejected(await underAttack(stack, make()), code);
    });
  });

  describe('magic bytes of an image, body of something else: accepted, then dead-lettered without retry', () => {
    it.each<[string, string, () => Buffer]>([
      ['JPEG magic bytes followed by an HTML page with <script>', 'CORRUPT_IMAGE', jpegHeaderThenHtml],
      ['a GIF header declaring 1x1 px followed by JavaScript', 'CORRUPT_IMAGE', gifHeaderThenScript],
      ['the PNG signature followed by a ZIP archive', 'CORRUPT_IMAGE', pngSignatureThenZip],
      ['truncated.jpg (a real JPEG cut at 10000 bytes)', 'CORRUPT_IMAGE', () => readFileSync(fixtures.truncatedJpeg)],
      ['truncated.png (a real PNG cut at 10000 bytes)', 'CORRUPT_IMAGE', () => readFileSync(fixtures.truncatedPng)],
      ['corrupt-header.jpg (a JPEG with a damaged header)', 'CORRUPT_IMAGE', () => readFileSync(fixtures.corruptHeaderJpeg)],
      // The API reads at most 512 KB looking for the size; this one declares it further in, so
      // only sharp's own limit in the worker sees the 400 MP, before decoding a pixel.
      ['a JPEG hiding a 20000x20000 frame header behind 640 KB of APP segments', 'TOO_MANY_PIXELS', () => bombs.distantJpeg as Buffer],
    ])('accepts %s (the header looks fine) and dead-letters it as %s after one attempt', async (_name, code, make) => {
      const aftermath = await underAttack(stack, upload([file('photo.jpg', 'image/jpeg', make())]));
      const { batchId, jobIds } = await expectAccepted(stack, aftermath);
      await expectDeadLettered(stack, batchId, jobIds[0] as string, code);
    });
  });

  describe('a valid image carrying something else: processed, and the passenger is dropped', () => {
    // Decoders stop at the image's own end (IEND, EOI, the GIF trailer) and skip comment
    // extensions; sharp's failOn 'warning' does not object to trailing bytes. The output is
    // re-encoded from pixels, so nothing of the passenger can reach it.
    it.each<[string, () => Promise<Buffer>, string]>([
      ['a PNG with a ZIP archive appended (PNG/ZIP polyglot)', async () => Buffer.concat([await generateImage({ width: 64, height: 48, format: 'png' }), zipArchive()]), 'PK\x03\x04'],
      ['a JPEG with <script> appended after its end marker', async () => Buffer.concat([goodJpeg, Buffer.from('<script>alert(1)</script>')]), '<script>'],
      ['a valid GIF that is also JavaScript (code in a comment extension)', async () => validGifJsPolyglot(), 'alert(1)'],
    ])('completes %s', async (_name, make, passenger) => {
      const aftermath = await underAttack(stack, upload([file('photo.jpg', 'image/jpeg', await make())]));
      const { batchId } = await expectAccepted(stack, aftermath);
      const batch = await finishedBatch(stack, batchId);
      expect(batch.status).toBe('completed');
      const output = path.join(stack.world.processedDir, batch.files[0].result.outputPath);
      expect(await sharp(output).metadata()).toMatchObject({ format: 'jpeg' });
      expect(readFileSync(output).includes(Buffer.from(passenger, 'latin1'))).toBe(false);
    });
  });

  describe('odd original file names: stored under generated names, shown sanitised and escaped', () => {
    const utf8Star = (encoded: string) => `form-data; name="images"; filename*=UTF-8''${encoded}`;
    it.each<[string, { filename?: string; disposition?: string }, (name: string) => void]>([
      ['a path traversal', { filename: '../../etc/passwd' }, (n) => expect(n).toBe('passwd')],
      ['a Windows path traversal', { filename: '..\\..\\Windows\\win.ini' }, (n) => expect(n).toBe('win.ini')],
      ['a 10 KB name', { filename: `${'x'.repeat(10 * 1024)}.jpg` }, (n) => expect(n).toBe('x'.repeat(255))],
      ['an RTL override in raw UTF-8', { filename: 'invoice\u202egpj.exe' }, (n) => expect(n).toBe('invoicegpj.exe')],
      ['an RTL override in an RFC 5987 filename*', { disposition: utf8Star('invoice%E2%80%AEgpj.exe') }, (n) => expect(n).toBe('invoicegpj.exe')],
      ['a NUL byte in an RFC 5987 filename*', { disposition: utf8Star('photo.jpg%00.exe') }, (n) => expect(n).toBe('photo.jpg.exe')],
      ['HTML', { filename: '<img src=x onerror=alert(1)>.jpg' }, (n) => expect(n).toBe('<img src=x onerror=alert(1)>.jpg')],
      ['non-ASCII letters in raw UTF-8', { filename: 'café 写真.jpg' }, (n) => expect(n).toBe('café 写真.jpg')],
      ['300 emoji (surrogate pairs) cut at the limit', { filename: '😀'.repeat(300) }, (n) => expect(n).toBe('😀'.repeat(127))],
    ])('accepts a file named with %s', async (_name, naming, expectName) => {
      const part = { ...naming, contentType: 'image/jpeg', data: goodJpeg };
      const aftermath = await underAttack(stack, upload([part]));
      const { batchId, jobIds } = await expectAccepted(stack, aftermath);

      const shown = [aftermath.res, await stack.request.get(`/batches/${batchId}`).expect(200), await stack.request.get(`/jobs/${jobIds[0]}`).expect(200)];
      for (const res of shown) {
        const name: string = res.body.jobs?.[0].originalName ?? res.body.files?.[0].originalName ?? res.body.originalName;
        expectName(name);
        expect(name.length).toBeLessThanOrEqual(255);
        expect(name).not.toMatch(/[\\/\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
        expect(Buffer.from(name, 'utf8').toString('utf8')).toBe(name); // no half surrogate pair
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.text).not.toMatch(/[<>]/); // escaped as \u003c and \u003e
      }
      // Nothing was written under the client's name, anywhere in this test's directories.
      const root = path.dirname(stack.world.uploadDir);
      const written = readdirSync(root, { recursive: true }).map(String);
      expect(written.filter((f) => !/^(uploads|processed|tus-uploads)(\/[0-9a-f-]{36}(\.jpg)?)?$/.test(f))).toEqual([]);
      expect((await finishedBatch(stack, batchId)).status).toBe('completed');
    });
  });

  describe('malformed and unknown ids in every route: 400 or 404, never 500', () => {
    const known = '3b241101-e2bb-4255-8caf-4136c566a962'; // a v4 UUID no batch or job has
    const ids: Array<[string, string, 'invalid' | 'unknown']> = [
      ['SQL injection', encodeURIComponent("' OR '1'='1' --"), 'invalid'],
      ['a stacked SQL statement', encodeURIComponent('1; DROP TABLE jobs'), 'invalid'],
      ['a NoSQL operator', encodeURIComponent('{"$gt":""}'), 'invalid'],
      ['a Redis key glob', encodeURIComponent('imgflow:*'), 'invalid'],
      ['an encoded path traversal', '..%2F..%2Fetc%2Fpasswd', 'invalid'],
      ['an encoded dot-dot', '%2e%2e', 'invalid'],
      ['an encoded NUL', '%00', 'invalid'],
      ['a valid UUID with a NUL after it', `${known}%00`, 'invalid'],
      ['a CR LF (header injection)', '%0D%0ASet-Cookie:%20a=b', 'invalid'],
      ['a broken percent-encoding', '%E0%A4%A', 'invalid'],
      ['a lone percent sign', '%', 'invalid'],
      ['a 10 KB id', 'a'.repeat(10 * 1024), 'invalid'],
      ['an emoji', encodeURIComponent('😀'), 'invalid'],
      ['the nil UUID (not v4)', '00000000-0000-0000-0000-000000000000', 'invalid'],
      ['an unknown v4 UUID', known, 'unknown'],
      ['an unknown v4 UUID in upper case', known.toUpperCase(), 'unknown'],
    ];
    const routes: Array<[string, 'get' | 'post', (id: string) => string, ProblemCode]> = [
      ['GET /batches/:id', 'get', (id) => `/batches/${id}`, 'BATCH_NOT_FOUND'],
      ['GET /jobs/:id', 'get', (id) => `/jobs/${id}`, 'JOB_NOT_FOUND'],
      ['GET /jobs/:id/result', 'get', (id) => `/jobs/${id}/result`, 'JOB_NOT_FOUND'],
      ['POST /dead-letters/:id/retry', 'post', (id) => `/dead-letters/${id}/retry`, 'DEAD_LETTER_NOT_FOUND'],
    ];
    const cases = routes.flatMap(([route, method, url, notFound]) => ids.map(([what, id, kind]) => [route, what, method, url(id), kind === 'invalid' ? 'INVALID_ID' : notFound] as const));

    it.each(cases)('%s with %s', async (_route, _what, method, url, code) => {
      const res = await stack.admin[method](url);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: problems[code].status, code });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['set-cookie']).toBeUndefined();
      await stack.request.get('/healthz').expect(200);
    });
  });
});

describe('what the upload check lets through, the worker stops', () => {
  // An API configured more permissively than its worker (SVG allowed, 300 MP), sharing the
  // queue and directories: what the API accepts, the worker must fail at once and dead-letter.
  let stack: TestStack;
  let strictWorker: WorkerContext;
  let stopWorker: () => Promise<void>;
  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ALLOW_SVG: 'true', MAX_INPUT_PIXELS: '300000000' } });
    const { world } = stack;
    const workerWorld = createTestWorld({ QUEUE_PREFIX: world.prefix, UPLOAD_DIR: world.uploadDir, PROCESSED_DIR: world.processedDir });
    expect(workerWorld.config.uploads.maxInputPixels).toBe(100_000_000);
    strictWorker = composeWorker(workerWorld.config, workerWorld.logger);
    void strictWorker.worker.run();
    await strictWorker.worker.current().waitUntilReady();
    const closeWorker = createShutdown(workerWorld.logger, strictWorker.closeSteps);
    stopWorker = async () => {
      await closeWorker();
      await workerWorld.cleanup();
    };
  });
  afterAll(async () => {
    await stopWorker();
    await stack.stop();
  });

  it('accepts a 16000x16000 PNG (256 MP) that the API allows, and the worker dead-letters it as TOO_MANY_PIXELS after one attempt', async () => {
    const aftermath = await underAttack(stack, upload([file('input', 'application/octet-stream', bombs.png16k as Buffer)]));
    const { batchId, jobIds } = await expectAccepted(stack, aftermath);
    await expectDeadLettered(stack, batchId, jobIds[0] as string, 'TOO_MANY_PIXELS');
  });

  it('accepts an animated WebP with a 10000x9999 canvas that the API allows, and the worker dead-letters it as TOO_MANY_PIXELS after one attempt', async () => {
    const aftermath = await underAttack(stack, upload([file('anim.webp', 'image/webp', bombs.webpCanvas as Buffer)]));
    const { batchId, jobIds } = await expectAccepted(stack, aftermath);
    await expectDeadLettered(stack, batchId, jobIds[0] as string, 'TOO_MANY_PIXELS');
  });

  it('renders an allowed SVG to pixels: its script never runs and it loads no neighbouring upload', async () => {
    const neighbour = await stack.request.post('/process-images').attach('images', fixtures.photoJpeg).expect(202);
    const stored = (await stack.api.ports.queue.getJob(neighbour.body.jobs[0].jobId))?.data.inputFile;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="32">
      <script>alert(1)</script><image width="64" height="32" xlink:href="${stored}"/><image width="64" height="32" href="file:///etc/hostname"/></svg>`;
    const res = await stack.request.post('/process-images').attach('images', Buffer.from(svg), 'evil.svg').expect(202);
    const jobId = res.body.jobs[0].jobId as string;
    const job = await waitFor(async () => {
      const j = await stack.request.get(`/jobs/${jobId}`).expect(200);
      return j.body.state === 'completed' && j.body;
    });
    expect(job.result).toMatchObject({ width: 64, height: 32, format: 'jpeg' });
    // Nothing was drawn from the referenced files: the output is the blank (white) canvas.
    const { channels } = await sharp(path.join(stack.world.processedDir, job.result.outputPath)).stats();
    expect(channels[0]?.min).toBe(255);
  });
});
