import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fixtures } from '../fixtures/images';
import { watchBatchEvents, type WatchedBatch } from '../helpers/event-source';
import { postImages } from '../helpers/http';
import { startApiProcess, startProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { freePort } from '../helpers/redis';
import { createTestWorld, startStack, waitFor, type TestStack, type TestWorld } from '../helpers/stack';

// Real processes: the API and two workers start from source with tsx, a few seconds each.
jest.setTimeout(120_000);

const TOKEN = 'metrics-test-token-0123456789';

/** Sums the samples of `name` whose labels include `labels`: 0 when there are none (a counter not yet touched). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

async function scrape(url: string, token: string | undefined = TOKEN): Promise<Response> {
  return fetch(url, { headers: token === undefined ? {} : { Authorization: token }, signal: AbortSignal.timeout(10_000) });
}

async function scrapeText(url: string): Promise<string> {
  const res = await scrape(url, `Bearer ${TOKEN}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('GET /metrics on the API and the worker during a real batch', () => {
  let world: TestWorld;
  let api: ApiProcess;
  let worker: ServiceProcess | undefined;
  let workerPort: number;
  let watch: WatchedBatch | undefined;
  const apiMetrics = () => `${api.baseUrl}/metrics`;
  const workerMetrics = () => `http://127.0.0.1:${workerPort}/metrics`;

  beforeAll(async () => {
    world = createTestWorld({ METRICS_TOKEN: TOKEN });
    api = await startApiProcess(world);
    workerPort = await freePort();
  });
  afterAll(async () => {
    watch?.close();
    await worker?.stop();
    await api?.stop();
    await world?.cleanup();
  });

  it('counts the files, bytes, refusals, requests, streams and jobs of a batch by exactly the batch', async () => {
    const before = await scrapeText(apiMetrics());
    // Three good photos and one that passes the upload check but cannot be decoded (dead-lettered at once).
    const files = [fixtures.smallPhotoJpeg, fixtures.photoJpeg, fixtures.jpegExif1, fixtures.truncatedJpeg].map((f, i) => ({ name: `photo-${i}.jpg`, data: readFileSync(f) }));
    const upload = await postImages(api.baseUrl, files);
    expect(upload.status).toBe(202);
    const refused = await postImages(api.baseUrl, [{ name: 'notes.jpg', data: Buffer.from('not an image at all, just words') }]);
    expect(refused.problem?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const batchId = upload.body?.batchId ?? '';

    // No worker yet: the batch waits, and its live-event stream stays open while we look.
    watch = watchBatchEvents(`${api.baseUrl}/batches/${batchId}/events`);
    await watch.first('snapshot');
    expect(sample(await scrapeText(apiMetrics()), 'imgflow_event_streams_open')).toBe(1);

    worker = await startWorkerProcess(world, { WORKER_METRICS_PORT: String(workerPort), WORKER_METRICS_HOST: '127.0.0.1' });
    await watch.ended();

    const after = await scrapeText(apiMetrics());
    const delta = (name: string, labels?: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('imgflow_files_accepted_total')).toBe(4);
    expect(delta('imgflow_bytes_accepted_total')).toBe(files.reduce((sum, f) => sum + f.data.length, 0));
    expect(delta('imgflow_http_refusals_total', { code: 'UNSUPPORTED_MEDIA_TYPE' })).toBe(1);
    expect(delta('imgflow_http_request_duration_seconds_count', { method: 'POST', route: '/process-images', status: '202' })).toBe(1);
    expect(delta('imgflow_http_request_duration_seconds_count', { method: 'POST', route: '/process-images', status: '415' })).toBe(1);
    expect(sample(after, 'imgflow_http_request_duration_seconds_count', { method: 'GET', route: '/batches/:batchId/events', status: '200' })).toBe(1);
    // Route templates only: no series per batch.
    expect(after).not.toContain(batchId);
    expect(sample(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // Queue counts are cached for 5 s, so the finished batch shows within a few scrapes.
    await waitFor(async () => {
      const text = await scrapeText(apiMetrics());
      return (
        sample(text, 'imgflow_queue_jobs', { queue: 'images', state: 'completed' }) === 3 &&
        sample(text, 'imgflow_queue_jobs', { queue: 'images-dead-letter' }) === 1 &&
        sample(text, 'imgflow_event_streams_open') === 0
      );
    }, { what: 'three completed jobs, one dead letter and no open stream in the API metrics', intervalMs: 500 });

    const fromWorker = await scrapeText(workerMetrics());
    expect(sample(fromWorker, 'imgflow_worker_jobs_total', { outcome: 'completed' })).toBe(3);
    expect(sample(fromWorker, 'imgflow_worker_jobs_total', { outcome: 'failed', code: 'CORRUPT_IMAGE' })).toBe(1);
    expect(sample(fromWorker, 'imgflow_worker_jobs_total', { outcome: 'retrying' })).toBe(0);
    expect(sample(fromWorker, 'imgflow_worker_processing_seconds_count', { preset: 'default', format: 'jpeg' })).toBe(3);
    expect(sample(fromWorker, 'imgflow_worker_input_megapixels_count')).toBe(3);
    expect(sample(fromWorker, 'imgflow_worker_input_megapixels_sum')).toBeGreaterThan(0);
    expect(fromWorker).toMatch(/^imgflow_sharp_tasks\{state="queue"\} \d+$/m);
    expect(fromWorker).toMatch(/^nodejs_eventloop_lag_p99_seconds \S+$/m);
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer metrics-test-token-0123456780'],
    ['the token without its scheme', TOKEN],
  ])('answers 401 UNAUTHENTICATED to %s, on the API and the worker', async (_name, header) => {
    for (const url of [apiMetrics(), workerMetrics()]) {
      const res = await scrape(url, header);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('stops a second worker whose metrics port is taken, with exit 1 and the setting named', async () => {
    const second = startProcess('worker', { ...world.env, WORKER_METRICS_PORT: String(workerPort), WORKER_METRICS_HOST: '127.0.0.1' });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(new RegExp(`WORKER_METRICS_PORT ${workerPort} on 127\\.0\\.0\\.1 is already in use`));
  });

  it('closes the worker\'s metrics server on a graceful shutdown', async () => {
    expect(await worker?.stop('SIGTERM')).toBe(0);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(workerPort, '127.0.0.1', resolve));
    await new Promise((resolve) => probe.close(resolve));
  });
});

describe('GET /metrics without METRICS_TOKEN', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('is open, in the Prometheus text format, and counts a 404 under one route label', async () => {
    await stack.request.get('/no/such/route/1234').expect(404);
    const res = await stack.request.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(res.text, 'imgflow_http_refusals_total', { code: 'ROUTE_NOT_FOUND' })).toBe(1);
    expect(sample(res.text, 'imgflow_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(res.text).not.toContain('/no/such/route');
  });

  it('is in the OpenAPI document, with its optional bearer token', async () => {
    const doc = (await stack.request.get('/openapi.json').expect(200)).body as { paths: Record<string, { get?: { security?: unknown; responses?: Record<string, unknown> } }> };
    expect(doc.paths['/metrics']?.get).toMatchObject({ security: [{ metricsToken: [] }, {}], responses: { 200: expect.anything(), 401: expect.anything() } });
  });
});
