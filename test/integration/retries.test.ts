import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { generateImage } from '../fixtures/images';
import { createTestWorld, startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

const BACKOFF_MS = 150;

/**
 * A stack whose processed/ is a regular file, so every write fails with ENOTDIR: an fs error,
 * transient by the worker's rules (a full or remounted disk can recover), never a bad image.
 */
async function startStackWithUnwritableOutput(env: Record<string, string>) {
  const world = createTestWorld({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, JOB_BACKOFF_MS: String(BACKOFF_MS), ...env });
  rmSync(world.processedDir, { recursive: true, force: true });
  writeFileSync(world.processedDir, 'a regular file where the processed directory should be');
  const stack = await startStack({ world, worker: true });
  // When each attempt failed, seen from the worker itself.
  const failedAt: number[] = [];
  stack.worker?.worker.current().on('failed', () => failedAt.push(Date.now()));
  return { stack, failedAt };
}

async function uploadOne(stack: TestStack): Promise<{ jobId: string; batchId: string }> {
  const image = await generateImage({ width: 64, height: 48, format: 'jpeg' });
  const res = await stack.request.post('/upload').attach('media', image, 'transient.jpg').expect(202);
  return res.body;
}

describe('a transient failure followed by success', () => {
  let stack: TestStack;
  let failedAt: number[];
  beforeAll(async () => {
    ({ stack, failedAt } = await startStackWithUnwritableOutput({ JOB_ATTEMPTS: '6' }));
  });
  afterAll(() => stack.stop());

  it('retries with growing delays and completes once the disk is writable again', async () => {
    const { jobId, batchId } = await uploadOne(stack);

    // Between attempts the file waits as 'delayed', and its batch counts as under way.
    const retrying = await waitFor(
      async () => {
        const batch = (await stack.request.get(`/batches/${batchId}`).expect(200)).body;
        return batch.files[0].state === 'delayed' && batch;
      },
      { timeoutMs: 5_000, what: 'the job to wait for a retry' },
    );
    expect(retrying).toMatchObject({ status: 'processing', progress: { waiting: 1, failed: 0 } });

    await waitFor(async () => failedAt.length >= 3, { timeoutMs: 10_000, what: 'three failed attempts' });
    // The fourth attempt is at least 4 x BACKOFF_MS away: time enough to repair the disk.
    rmSync(stack.world.processedDir);
    mkdirSync(stack.world.processedDir);

    const job = await waitFor(
      async () => {
        const res = (await stack.request.get(`/jobs/${jobId}`).expect(200)).body;
        return res.state === 'completed' && res;
      },
      { timeoutMs: 10_000, what: 'the job to complete' },
    );
    expect(job.attemptsMade).toBeGreaterThan(3);
    expect(job.attemptsMade).toBe(failedAt.length + 1);
    expect(readdirSync(stack.world.processedDir)).toEqual([job.result.outputPath]);
    expect(await sharp(path.join(stack.world.processedDir, job.result.outputPath)).metadata()).toMatchObject({ format: 'jpeg', channels: 1 });

    // Exponential backoff: attempt n+1 starts BACKOFF_MS * 2^(n-1) after failure n, at the
    // earliest. Upper bounds would only measure how busy the machine is.
    const gaps = failedAt.slice(1).map((t, i) => t - (failedAt[i] as number));
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(BACKOFF_MS * 2 ** i * 0.9));
    expect(gaps[gaps.length - 1]).toBeGreaterThan(gaps[0] as number);

    const batch = (await stack.request.get(`/batches/${batchId}`).expect(200)).body;
    expect(batch).toMatchObject({ status: 'completed', progress: { completed: 1, failed: 0 } });
    expect((await stack.admin.get('/dead-letters').expect(200)).body.total).toBe(0);
  });
});

describe('a transient failure on every attempt', () => {
  let stack: TestStack;
  beforeAll(async () => {
    ({ stack } = await startStackWithUnwritableOutput({ JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '50' }));
  });
  afterAll(() => stack.stop());

  it('uses up JOB_ATTEMPTS, then lands in the dead-letter queue with the reason', async () => {
    const { jobId, batchId } = await uploadOne(stack);

    const letter = await waitFor(
      async () => {
        const { items } = (await stack.admin.get('/dead-letters').expect(200)).body;
        return items.find((d: { id: string }) => d.id === jobId);
      },
      { timeoutMs: 10_000, what: 'the dead letter' },
    );
    expect(letter).toMatchObject({ batchId, originalName: 'transient.jpg', attemptsMade: 3, failedReason: 'OUTPUT_WRITE_FAILED: ENOTDIR' });
    expect(letter.failedReason).not.toContain(stack.world.processedDir); // no server paths in what clients see

    const job = (await stack.request.get(`/jobs/${jobId}`).expect(200)).body;
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 3 });
    const batch = (await stack.request.get(`/batches/${batchId}`).expect(200)).body;
    expect(batch).toMatchObject({ status: 'failed', progress: { failed: 1, completed: 0 } });
    // The upload is kept, so a retry from the dead-letter queue has its input.
    expect(readdirSync(stack.world.uploadDir)).toHaveLength(1);
  });
});
