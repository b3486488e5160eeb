import { request as httpRequest, type ClientRequest } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createBatchStore } from '../../src/queue/batch-store';
import { IMAGE_QUEUE } from '../../src/queue/jobs';
import { generateImage } from '../fixtures/images';
import { bodyOf, filesIn, postImages } from '../helpers/http';
import { startApiProcess, type ApiProcess } from '../helpers/processes';
import { createTestWorld, waitFor, type TestWorld } from '../helpers/stack';

// Real API processes are started, signalled and waited for.
jest.setTimeout(60_000);

const BOUNDARY = 'imgflowfaulttest';

/** Opens a multipart upload and sends its head plus `firstBytes` of the file; the caller decides the rest. */
function openUpload(baseUrl: string, file: Buffer, firstBytes: number): { req: ClientRequest; outcome: Promise<number | string> } {
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="images"; filename="slow.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  const req = httpRequest(`${baseUrl}/process-images`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
  const outcome = new Promise<number | string>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  req.write(head);
  req.write(file.subarray(0, firstBytes));
  return { req, outcome };
}

describe('uploads interrupted by a shutdown or by the client', () => {
  let world: TestWorld;
  let api: ApiProcess;
  let redis: Redis;
  let photo: Buffer;

  beforeAll(async () => {
    world = createTestWorld({ HTTP_DRAIN_MS: '1500' });
    redis = new Redis(world.config.redis.url);
    photo = await generateImage({ width: 1600, height: 1200, format: 'jpeg' });
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    redis.disconnect();
    await world.cleanup();
  });

  /** The stored inputs of every job in the queue: what may legitimately be in the upload dir. */
  async function queuedInputs(): Promise<string[]> {
    const queue = new Queue(IMAGE_QUEUE, { connection: redis, prefix: world.prefix });
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
    await queue.close();
    return jobs.map((j) => j.data.inputFile as string).sort();
  }

  it('SIGTERM mid-upload: each request ends 202 and fully queued, or failed with no file left; exit 0', async () => {
    api = await startApiProcess(world);
    const normal = Array.from({ length: 4 }, () => postImages(api.baseUrl, [{ name: 'a.jpg', data: photo }, { name: 'b.jpg', data: photo }]).then((r) => r, (e: Error) => e));
    const trickle = openUpload(api.baseUrl, photo, 4096);
    const dribble = setInterval(() => trickle.req.write(photo.subarray(4096, 4196)), 100);
    await waitFor(async () => filesIn(world.uploadDir).length > 0, { what: 'uploads under way' });

    api.child.kill('SIGTERM');
    const [results, trickled, exit] = await Promise.all([Promise.all(normal), trickle.outcome, api.exited]);
    clearInterval(dribble);

    expect(exit).toBe(0);
    expect(typeof trickled).toBe('string'); // cut off after the drain period: a connection error, not a hang
    const accepted = results.filter((r): r is Exclude<typeof r, Error> => !(r instanceof Error) && r.status === 202);
    for (const r of results) if (!(r instanceof Error)) expect([202, 503]).toContain(r.status);

    // No half batch: every accepted batch has all of its jobs, with their inputs on disk ...
    const batches = createBatchStore(redis, { prefix: world.prefix, ttlSeconds: 60 });
    for (const reply of accepted) {
      const batch = await batches.get(bodyOf(reply).batchId);
      expect(batch?.files).toHaveLength(2);
    }
    const inputs = await queuedInputs();
    expect(inputs).toHaveLength(accepted.length * 2);
    // ... and nothing else is: the interrupted uploads left no files behind.
    expect(filesIn(world.uploadDir).sort()).toEqual(inputs);
  });

  it('client aborting mid-stream: the partial file is removed and no job is created', async () => {
    api = await startApiProcess(world);
    const jobsBefore = await queuedInputs();
    const filesBefore = filesIn(world.uploadDir).sort();

    const aborted = openUpload(api.baseUrl, photo, 64 * 1024);
    await waitFor(async () => filesIn(world.uploadDir).length > filesBefore.length, { what: 'partial file on disk' });
    aborted.req.destroy();
    await aborted.outcome;

    await waitFor(async () => filesIn(world.uploadDir).length === filesBefore.length, { what: 'partial file removed' });
    expect(filesIn(world.uploadDir).sort()).toEqual(filesBefore);
    expect(await queuedInputs()).toEqual(jobsBefore);
    // The API is unharmed by it.
    expect((await postImages(api.baseUrl, [{ name: 'ok.jpg', data: photo }])).status).toBe(202);
  });

  it('a client trickling bytes is cut off by the request timeout, leaving no file', async () => {
    await api.stop('SIGTERM');
    api = await startApiProcess(world, { REQUEST_TIMEOUT_MS: '2000' });
    const filesBefore = filesIn(world.uploadDir).sort();
    const slow = openUpload(api.baseUrl, photo, 4096);
    const dribble = setInterval(() => slow.req.write(photo.subarray(4096, 4106)), 200);
    const started = Date.now();
    const outcome = await slow.outcome;
    clearInterval(dribble);

    expect([408, 'ECONNRESET', 'EPIPE']).toContain(outcome);
    expect(Date.now() - started).toBeLessThan(6000);
    await waitFor(async () => filesIn(world.uploadDir).length === filesBefore.length, { what: 'partial file removed' });
    expect(filesIn(world.uploadDir).sort()).toEqual(filesBefore);
  });
});
