import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { IMAGE_QUEUE } from '../../src/queue/jobs';
import { fixtures } from '../fixtures/images';
import { startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

// Two worker processes, one killed mid-job, and BullMQ's stalled check at work.
jest.setTimeout(60_000);

describe('jobs that fail outside the worker\'s failed handler', () => {
  let stack: TestStack;
  let worker: ServiceProcess | undefined;

  beforeAll(async () => {
    // No stall allowed: the first crash already counts as "stalled more than allowable limit".
    stack = await startStack({
      env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, MAX_STALLED_COUNT: '0', LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500', RECONCILE_INTERVAL_MS: '500', WORKER_CONCURRENCY: '1' },
    });
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await stack.stop();
  });

  it('is failed by BullMQ and still reaches the dead-letter queue and its batch', async () => {
    // AVIF decodes slowly (~0.4 s for 9 MP here; AVIF's share of the default decode budget is 10 MP): long enough to be killed mid-job.
    const slow = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#1c8', noise: { type: 'gaussian', mean: 100, sigma: 10 } } })
      .avif({ quality: 30, effort: 0 })
      .toBuffer();
    const { body } = await stack.request.post('/process-images').attach('images', slow, 'poison.avif').expect(202);
    const jobId = body.jobs[0].jobId as string;

    worker = await startWorkerProcess(stack.world);
    await waitFor(async () => (await stack.api.ports.queue.getJobState(jobId)) === 'active', { intervalMs: 10, what: 'job active' });
    await worker.stop('SIGKILL');
    worker = await startWorkerProcess(stack.world);

    // BullMQ fails it in its stalled check, which emits no 'failed' event to the worker.
    const letter = await waitFor(
      async () => {
        const { items } = (await stack.admin.get('/dead-letters').expect(200)).body;
        return items.find((d: { id: string }) => d.id === jobId);
      },
      { timeoutMs: 20_000, what: 'the dead letter' },
    );
    expect(letter.failedReason).toMatch(/stalled/i);
    const batch = (await stack.request.get(body.statusUrl).expect(200)).body;
    expect(batch).toMatchObject({ status: 'failed', progress: { total: 1, failed: 1 } });
  });

  it('is dead-lettered by the reconciler when the worker that failed it died before sending the letter', async () => {
    await worker?.stop('SIGKILL');
    const { body } = await stack.request.post('/process-images').attach('images', fixtures.photoJpeg, 'lost-letter.jpg').expect(202);
    const jobId = body.jobs[0].jobId as string;
    // A bare BullMQ worker stands in for one that crashed right after the failure: the job is
    // failed in Redis, and nothing sent its letter or recorded its outcome.
    const bare = new Worker(IMAGE_QUEUE, async () => {
      throw new UnrecoverableError('CORRUPT_IMAGE: pretend');
    }, { connection: new Redis(stack.world.config.redis.url, { maxRetriesPerRequest: null }), prefix: stack.world.prefix });
    await waitFor(async () => (await stack.api.ports.queue.getJobState(jobId)) === 'failed', { what: 'job failed' });
    await bare.close();
    await (await bare.client).quit();
    worker = await startWorkerProcess(stack.world);

    const letter = await waitFor(
      async () => {
        const { items } = (await stack.admin.get('/dead-letters').expect(200)).body;
        return items.find((d: { id: string }) => d.id === jobId);
      },
      { timeoutMs: 10_000, what: 'the reconciled dead letter' },
    );
    expect(letter).toMatchObject({ failedReason: 'CORRUPT_IMAGE: pretend', attemptsMade: 1 });
    const batch = (await stack.request.get(body.statusUrl).expect(200)).body;
    expect(batch.status).toBe('failed');
  });
});
