import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fixtures } from '../fixtures/images';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// A batch waits out a bucket outage of a few seconds, with the backoff it brings.
jest.setTimeout(90_000);

const GOOD = Object.entries(fixtures).filter(([name]) => !/truncated|corrupt/i.test(name));

describe('STORAGE_DRIVER=s3 with the bucket unreachable, or a client gone', () => {
  let s3: S3Server;
  let stack: TestStack;

  beforeAll(async () => {
    s3 = await startS3Server();
    // The shipped 3 attempts with a 100 ms backoff would be used up within a second: an outage must not count.
    stack = await startStack({ env: { ...s3.env, MAX_FILES: String(GOOD.length), JOB_ATTEMPTS: '3', MAX_FILE_SIZE_MB: '20' }, worker: true });
  });
  afterAll(async () => {
    await stack.stop();
    await s3.stop();
  });

  const attachAll = (req: ReturnType<TestStack['request']['post']>) => {
    for (const [name, file] of GOOD) req.attach('images', readFileSync(file), `${name}${path.extname(file)}`);
    return req;
  };
  const uploadsInBucket = async () => (await (await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=uploads/`)).text()).split('<Key>').length - 1;

  it('answers uploads 503 STORAGE_UNAVAILABLE, queues nothing and stores nothing; /readyz says so too', async () => {
    await s3.pause();
    try {
      const res = await attachAll(stack.request.post('/process-images')).expect(503);
      expect(res.body).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503 });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const ready = await stack.request.get('/readyz').expect(503);
      expect(ready.body.code).toBe('STORAGE_UNAVAILABLE');
    } finally {
      await s3.resume();
    }
    const counts = await stack.api.ports.queue.getJobCounts();
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    expect(await uploadsInBucket()).toBe(0);
    await stack.request.get('/readyz').expect(200);
  });

  it('keeps nothing of an upload whose client hangs up after 6 MB, past the first 5 MB part', async () => {
    const server = createServer(stack.api.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const boundary = 'imgflows3abort';
      const req = httpRequest(`http://127.0.0.1:${(server.address() as AddressInfo).port}/process-images`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
      const ended = new Promise((resolve) => req.once('error', resolve).once('response', resolve));
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="images"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
      // A JPEG's magic bytes pass the sniffer; the rest only has to be long enough for a first part.
      req.write(Buffer.concat([readFileSync(fixtures.photoJpeg), Buffer.alloc(6 * 1024 * 1024, 7)]));
      await new Promise((r) => setTimeout(r, 1000));
      req.destroy();
      await ended;
      await stack.api.deps.inFlight.idle();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await uploadsInBucket()).toBe(0);
    const counts = await stack.api.ports.queue.getJobCounts();
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
  });

  it('completes a batch whose bucket goes away and comes back on the same port mid-batch, losing nothing', async () => {
    const accepted = (await attachAll(stack.request.post('/process-images')).expect(202)).body as { batchId: string };
    const batch = async () => (await stack.request.get(`/batches/${accepted.batchId}`)).body as { status: string; progress: { completed: number; failed: number } };
    await waitFor(async () => (await batch()).progress.completed > 0, { timeoutMs: 30_000, intervalMs: 20, what: 'a first file done' });
    await s3.pause();
    const during = await batch();
    expect(during.progress.completed).toBeLessThan(GOOD.length);
    // Long enough for every remaining job to fail on the bucket, more often than it has attempts.
    await new Promise((r) => setTimeout(r, 3000));
    await s3.resume();

    const finished = await waitFor(async () => {
      const b = await batch();
      return b.status !== 'processing' && b.status !== 'waiting' && b;
    }, { timeoutMs: 60_000, intervalMs: 200, what: 'the batch to finish' });
    expect(finished).toMatchObject({ status: 'completed', progress: { completed: GOOD.length, failed: 0 } });
    expect(await stack.api.ports.deadLetters.count()).toBe(0);
    // A processed upload's delete that met the outage is tried again once the bucket is back.
    await waitFor(async () => (await uploadsInBucket()) === 0, { timeoutMs: 20_000, intervalMs: 200, what: 'the processed uploads to be deleted' });
  });
});
