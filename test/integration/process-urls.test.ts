import { lookup as dnsLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { createGuardedClient } from '../../src/net';
import { classifyAddress } from '../../src/net/address-policy';
import { BatchStatus } from '../../src/api/schemas';
import { fetchImage, FetchFailedError } from '../../src/worker/fetch-source';
import { createKeyedSemaphore, createSemaphore } from '../../src/worker/semaphore';
import { fixtures } from '../fixtures/images';
import { startImageServer, type ImageServer, type Route } from '../helpers/image-server';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Every URL a worker may connect to here is on a loopback address: the servers below, or a
// loopback spelling the guard must refuse. Literal private and metadata addresses appear only
// in requests asserted to be refused at validation (400, nothing queued), never where a broken
// check would let a worker try them.

const IMAGES: Record<string, { file: string; type: string }> = {
  '/a.jpg': { file: fixtures.smallPhotoJpeg, type: 'image/jpeg' },
  '/a.png': { file: fixtures.grey16AlphaPng, type: 'image/png' },
  '/a.webp': { file: fixtures.webp, type: 'image/webp' },
  '/a.gif': { file: fixtures.animatedGif, type: 'image/gif' },
  '/a.avif': { file: fixtures.avif, type: 'image/avif' },
  '/a.tif': { file: fixtures.tiff1Bit, type: 'image/tiff' },
};
const MB = 1024 * 1024;

const serve = (file: string, type: string): Route => (_req, res) => res.writeHead(200, { 'content-type': type }).end(readFileSync(file));
const redirectChain = (name: string, hops: number): Record<string, Route> =>
  Object.fromEntries(Array.from({ length: hops }, (_, i) => [`/${name}/${i}`, ((_req, res) => res.writeHead(302, { location: i + 1 === hops ? '/a.jpg' : `/${name}/${i + 1}` }).end()) as Route]));

const routes: Record<string, Route> = {
  ...Object.fromEntries(Object.entries(IMAGES).map(([path, { file, type }]) => [path, serve(file, type)])),
  '/flaky.jpg': (req, res, hit) => (hit === 1 ? res.writeHead(503).end('busy') : serve(fixtures.smallPhotoJpeg, 'image/jpeg')(req, res, hit)),
  '/html.jpg': (_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end('<!doctype html><html><body>not an image</body></html>'),
  '/big-declared.jpg': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(2 * MB) });
    res.write(readFileSync(fixtures.smallPhotoJpeg)); // then never the rest: the client must not wait for it
  },
  '/big-chunked.jpg': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' }); // no Content-Length: chunked
    const jpeg = readFileSync(fixtures.smallPhotoJpeg);
    for (let sent = 0; sent < 2 * MB; sent += jpeg.length) res.write(jpeg);
    res.end();
  },
  '/trickle.jpg': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    const jpeg = readFileSync(fixtures.smallPhotoJpeg);
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed || at >= jpeg.length) return clearInterval(timer);
      res.write(jpeg.subarray(at, at + 16));
      at += 16;
    }, 100);
    res.on('close', () => clearInterval(timer));
  },
  ...redirectChain('r5', 5),
  ...redirectChain('r6', 6),
};

async function finished(stack: TestStack, batchId: string): Promise<BatchStatus> {
  return waitFor(
    async () => {
      const res = await stack.request.get(`/batches/${batchId}`);
      const batch = BatchStatus.parse(res.body);
      return ['completed', 'completed-with-errors', 'failed'].includes(batch.status) && batch;
    },
    { timeoutMs: 40_000, what: `batch ${batchId} to finish` },
  );
}

async function jobCount(stack: TestStack): Promise<number> {
  const counts = await stack.api.ports.queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('POST /process-urls, downloads reaching a local server (ALLOW_PRIVATE_URLS=true)', () => {
  let stack: TestStack;
  let server: ImageServer;
  beforeAll(async () => {
    server = await startImageServer(routes);
    // Short timeouts so the trickle test ends in seconds; 1 MB so the oversized bodies stay small.
    stack = await startStack({ worker: true, env: { ALLOW_PRIVATE_URLS: 'true', FETCH_TIMEOUT_MS: '1500', FETCH_CONNECT_TIMEOUT_MS: '1000', MAX_FILE_SIZE_MB: '1', JOB_ATTEMPTS: '2' } });
  });
  afterAll(async () => {
    await stack?.stop();
    await server?.close();
  });

  it('downloads and processes an image of every accepted type, named by its URL', async () => {
    const urls = Object.keys(IMAGES).map((path) => `${server.base}${path}`);
    const res = await stack.request.post('/process-urls').send({ urls, variants: ['thumbnail', 'web'] });
    expect(res.status).toBe(202);
    expect(res.body.jobs.map((j: { originalName: string }) => j.originalName)).toEqual(urls);
    const batch = await finished(stack, res.body.batchId);
    expect(batch.files.map((f) => [f.originalName, f.state, f.result?.variants.map((v) => v.name)])).toEqual(urls.map((u) => [u, 'completed', ['thumbnail', 'web']]));
    const image = await stack.request.get(`/jobs/${res.body.jobs[0].jobId}/result?variant=web`);
    expect(image.status).toBe(200);
    expect(image.headers['content-disposition']).toContain('filename="a-web.webp"');
    expect(server.requests.find((r) => r.path === '/a.jpg')?.userAgent).toMatch(/^imgflow\/\d+\.\d+\.\d+$/);
  });

  it.each([
    ['a 404', '/missing.jpg', /^URL_HTTP_4XX: 404/, 1],
    ['HTML served as image/jpeg', '/html.jpg', /^URL_NOT_IMAGE:/, 1],
    ['a Content-Length over MAX_FILE_SIZE_MB', '/big-declared.jpg', /^URL_TOO_LARGE:.*Content-Length/, 1],
    ['a chunked body growing past MAX_FILE_SIZE_MB', '/big-chunked.jpg', /^URL_TOO_LARGE:.*sent more/, 1],
    ['a chain of 6 redirects', '/r6/0', /^URL_TOO_MANY_REDIRECTS:/, 1],
    ['a body trickling past FETCH_TIMEOUT_MS (retried)', '/trickle.jpg', /^URL_TIMEOUT:/, 2],
  ])('fails %s with its code and dead-letters it', async (_name, path, reason, attempts) => {
    const res = await stack.request.post('/process-urls').send({ urls: [`${server.base}${path}`] });
    expect(res.status).toBe(202);
    const [file] = (await finished(stack, res.body.batchId)).files;
    expect(file).toMatchObject({ state: 'failed', attemptsMade: attempts });
    expect(file?.failedReason).toMatch(reason);
    const letter = await waitFor(async () => (await stack.api.ports.deadLetters.getJob(res.body.jobs[0].jobId)) ?? undefined, { what: 'the dead letter' });
    expect(letter.data.failedReason).toMatch(reason);
  });

  it('follows 5 redirects, and retries a 503 until the 200 after it', async () => {
    const res = await stack.request.post('/process-urls').send({ urls: [`${server.base}/r5/0`, `${server.base}/flaky.jpg`] });
    const batch = await finished(stack, res.body.batchId);
    expect(batch.files.map((f) => [f.state, f.attemptsMade])).toEqual([['completed', 1], ['completed', 2]]);
  });
});

describe('POST /process-urls with the guard on', () => {
  let stack: TestStack;
  let server: ImageServer;
  beforeAll(async () => {
    server = await startImageServer(routes);
    stack = await startStack({ worker: true, env: { ALLOW_PRIVATE_URLS: 'false', JOB_ATTEMPTS: '2' } });
  });
  afterAll(async () => {
    await stack?.stop();
    await server?.close();
  });

  it.each([
    ['127.0.0.1', () => `${server.base}/a.jpg`, 'PRIVATE_ADDRESS'],
    ['[::1]', () => `http://[::1]:${server.port}/a.jpg`, 'PRIVATE_ADDRESS'],
    ['0.0.0.0', () => `http://0.0.0.0:${server.port}/a.jpg`, 'PRIVATE_ADDRESS'],
    ['2130706433 (decimal 127.0.0.1)', () => `http://2130706433:${server.port}/a.jpg`, 'PRIVATE_ADDRESS'],
    ['0x7f.1 (hex and short 127.0.0.1)', () => `http://0x7f.1:${server.port}/a.jpg`, 'PRIVATE_ADDRESS'],
    ['[::ffff:127.0.0.1]', () => `http://[::ffff:127.0.0.1]:${server.port}/a.jpg`, 'PRIVATE_ADDRESS'],
    ['credentials', () => `http://user:pw@127.0.0.1:${server.port}/a.jpg`, 'CREDENTIALS_IN_URL'],
    ['file:', () => 'file:///etc/passwd', 'BAD_SCHEME'],
    ['gopher:', () => `gopher://127.0.0.1:${server.port}/_GET`, 'BAD_SCHEME'],
    ['a malformed URL', () => 'http://', 'BAD_URL'],
    // Not loopback: asserted only here, at validation, where nothing connects even if the check broke.
    ['10.0.0.1', () => 'http://10.0.0.1/a.jpg', 'PRIVATE_ADDRESS'],
    ['192.168.1.1', () => 'http://192.168.1.1/a.jpg', 'PRIVATE_ADDRESS'],
    ['169.254.169.254 (cloud metadata)', () => 'http://169.254.169.254/latest/meta-data/', 'PRIVATE_ADDRESS'],
  ])('refuses %s with 400 INVALID_URLS naming its index, before any connection or job', async (_name, url, reason) => {
    const before = server.connections;
    const res = await stack.request.post('/process-urls').send({ urls: [`${server.base.replace('127.0.0.1', 'localhost')}/a.jpg`, url()] });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_URLS');
    expect(res.body.detail).toContain(`urls[1]: ${reason}`);
    expect(res.body.detail).not.toContain('urls[0]');
    expect(await jobCount(stack)).toBe(0);
    expect(server.connections).toBe(before);
  });

  it('queues localhost (a name), and the worker refuses it when it resolves to loopback: URL_REFUSED, not retried, no connection', async () => {
    const res = await stack.request.post('/process-urls').send({ urls: [`http://localhost:${server.port}/a.jpg`] });
    expect(res.status).toBe(202);
    const [file] = (await finished(stack, res.body.batchId)).files;
    expect(file).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(file?.failedReason).toMatch(/^URL_REFUSED:/);
    expect(server.connections).toBe(0);
    await stack.api.ports.queue.obliterate({ force: true });
  });
});

describe('a redirect to 127.0.0.1 with the guard on', () => {
  // The first hop must be reachable with the guard on, so this server listens on 127.0.0.2,
  // which the test's classifier alone counts as public; everything else is judged as in production.
  let server: ImageServer;
  beforeAll(async () => {
    server = await startImageServer(
      {
        '/to-literal': (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${server.port}/a.jpg` }).end(),
        '/to-name': (_req, res) => res.writeHead(302, { location: `http://localhost:${server.port}/a.jpg` }).end(),
        '/a.jpg': serve(fixtures.smallPhotoJpeg, 'image/jpeg'),
      },
      '127.0.0.2',
    );
  });
  afterAll(() => server?.close());

  // images.test resolves to 127.0.0.2; every other name through the system resolver (localhost: loopback).
  const lookup: LookupFunction = (hostname, options, callback) => {
    if (hostname !== 'images.test') return dnsLookup(hostname, options, callback);
    if (options.all) callback(null, [{ address: '127.0.0.2', family: 4 }]);
    else callback(null, '127.0.0.2', 4);
  };
  const classify = (a: string) => (a === '127.0.0.2' ? { public: true as const, address: a } : classifyAddress(a));
  const deps = () => ({
    client: createGuardedClient({ allowPrivate: false, lookup, classify }),
    limits: { maxBytes: MB, maxInputPixels: 1e8, timeoutMs: 5000, maxRedirects: 5, allowSvg: false, userAgent: 'imgflow/test' },
    slots: createSemaphore(2),
    perHost: createKeyedSemaphore(2),
  });

  it.each(['/to-literal', '/to-name'])('refuses the hop after %s (URL_REFUSED, permanent), while the same image fetched directly works', async (path) => {
    const d = deps();
    const before = server.requests.filter((r) => r.path === '/a.jpg').length;
    try {
      expect((await fetchImage(d, `http://images.test:${server.port}/a.jpg`)).type).toBe('jpeg');
      const err = await fetchImage(d, `http://images.test:${server.port}${path}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FetchFailedError);
      expect(err).toMatchObject({ code: 'URL_REFUSED', permanent: true });
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
      expect(server.requests.filter((r) => r.path === '/a.jpg')).toHaveLength(before + 1);
    } finally {
      await d.client.close();
    }
  });
});

describe('download slots: a download waiting on the network holds neither a Sharp slot nor more than its host\'s share', () => {
  let stack: TestStack;
  let slow: ImageServer;
  let fast: ImageServer;
  const held: import('node:http').ServerResponse[] = [];
  let released = false;
  const jpeg = () => readFileSync(fixtures.smallPhotoJpeg);
  beforeAll(async () => {
    slow = await startImageServer({
      '/hold.jpg': (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        if (released) res.end(jpeg());
        else held.push(res);
      },
    });
    fast = await startImageServer({ '/fast.jpg': serve(fixtures.smallPhotoJpeg, 'image/jpeg') }, '127.0.0.2');
    // One Sharp slot and one download per host: the fast host's image must get through while the slow host holds its slot.
    stack = await startStack({ worker: true, env: { ALLOW_PRIVATE_URLS: 'true', WORKER_CONCURRENCY: '1', FETCH_PER_HOST: '1', FETCH_CONCURRENCY: '4', FETCH_TIMEOUT_MS: '20000' } });
  });
  afterAll(async () => {
    await stack?.stop();
    await slow?.close();
    await fast?.close();
  });

  it('completes an image from another host while two downloads wait on a slow one, only one of them connected', async () => {
    const res = await stack.request.post('/process-urls').send({ urls: [`${slow.base}/hold.jpg?1`, `${slow.base}/hold.jpg?2`, `${fast.base}/fast.jpg`] });
    expect(res.status).toBe(202);
    const done = await waitFor(
      async () => {
        const batch = BatchStatus.parse((await stack.request.get(`/batches/${res.body.batchId}`)).body);
        return batch.files[2]?.state === 'completed' && batch;
      },
      { timeoutMs: 15_000, what: 'the fast host\'s image to complete' },
    );
    expect(done.files.slice(0, 2).map((f) => f.state)).not.toContain('completed');
    expect(held).toHaveLength(1);
    expect(slow.requests).toHaveLength(1);
    released = true;
    for (const r of held) r.end(jpeg());
    const batch = await finished(stack, res.body.batchId);
    expect(batch.status).toBe('completed');
    expect(slow.requests).toHaveLength(2);
  });
});
