import { copyFileSync, existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fixtures } from '../fixtures/images';
import { startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

interface FileView {
  jobId: string;
  originalName: string;
  state: string;
  failedReason: string | null;
  attemptsMade: number;
}

let stack: TestStack;
beforeAll(async () => {
  // JOB_ATTEMPTS stays 3: a permanent failure must use one of them, not all three.
  stack = await startStack({ worker: true, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, JOB_ATTEMPTS: '3' } });
});
afterAll(() => stack.stop());

async function finishedBatch(batchId: string) {
  return waitFor(
    async () => {
      const batch = (await stack.request.get(`/batches/${batchId}`).expect(200)).body;
      return ['completed', 'completed-with-errors', 'failed'].includes(batch.status) && batch;
    },
    { timeoutMs: 10_000, what: `batch ${batchId} to finish` },
  );
}

async function deadLetters(): Promise<{ id: string; failedReason: string; attemptsMade: number; batchId: string; originalName: string; failedAt: string }[]> {
  return (await stack.admin.get('/dead-letters').expect(200)).body.items;
}

describe('a corrupt image', () => {
  let mixed: { batchId: string; jobs: { jobId: string; originalName: string }[] };
  let broken: { batchId: string; jobs: { jobId: string }[] };

  beforeAll(async () => {
    [mixed, broken] = await Promise.all([
      stack.request.post('/process-images').attach('images', fixtures.photoJpeg).attach('images', fixtures.truncatedJpeg).expect(202).then((r) => r.body),
      stack.request.post('/process-images').attach('images', fixtures.truncatedPng).expect(202).then((r) => r.body),
    ]);
  });

  it('fails at once, without retries, and its batch says so', async () => {
    const batch = await finishedBatch(mixed.batchId);
    expect(batch).toMatchObject({ status: 'completed-with-errors', progress: { total: 2, completed: 1, failed: 1 } });
    const failed = batch.files.find((f: FileView) => f.originalName === 'truncated.jpg') as FileView;
    expect(failed).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: expect.stringMatching(/^CORRUPT_IMAGE: /) });

    expect(await finishedBatch(broken.batchId)).toMatchObject({ status: 'failed', progress: { total: 1, completed: 0, failed: 1 } });
    const job = (await stack.request.get(`/jobs/${failed.jobId}`).expect(200)).body;
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: expect.stringMatching(/^CORRUPT_IMAGE: /) });
  });

  it('is listed in GET /dead-letters with its reason and attempt count', async () => {
    const failedJobId = (mixed.jobs.find((j) => j.originalName === 'truncated.jpg') as { jobId: string }).jobId;
    const letters = await waitFor(async () => {
      const items = await deadLetters();
      return items.length === 2 && items;
    });
    expect(letters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: failedJobId, batchId: mixed.batchId, originalName: 'truncated.jpg', attemptsMade: 1, failedReason: expect.stringMatching(/^CORRUPT_IMAGE: /) }),
        expect.objectContaining({ id: broken.jobs[0]?.jobId, batchId: broken.batchId, originalName: 'truncated.png', attemptsMade: 1 }),
      ]),
    );
  });

  it('goes back on the queue from POST /dead-letters/:id/retry and completes once its input is fixed', async () => {
    const jobId = broken.jobs[0]?.jobId as string;
    // The stored upload is still there (only completed jobs delete theirs): repair it in place.
    const job = await stack.api.ports.queue.getJob(jobId);
    const input = path.join(stack.world.uploadDir, job?.data.inputFile as string);
    expect(existsSync(input)).toBe(true);
    copyFileSync(fixtures.rgbaPng, input);

    const res = await stack.admin.post(`/dead-letters/${jobId}/retry`).expect(202);
    expect(res.body).toEqual({ jobId, statusUrl: `/jobs/${jobId}` });
    expect(res.headers.location).toBe(`/jobs/${jobId}`);

    const batch = await finishedBatch(broken.batchId);
    expect(batch).toMatchObject({ status: 'completed', progress: { total: 1, completed: 1, failed: 0 } });
    expect(batch.files[0]).toMatchObject({ jobId, state: 'completed', result: { width: 512, format: 'jpeg' } });
    expect((await deadLetters()).map((d) => d.id)).not.toContain(jobId);
    // A second retry of the same id finds nothing: it is no longer a dead letter.
    await stack.admin.post(`/dead-letters/${jobId}/retry`).expect(404);
  });

  it('fails again, and is dead-lettered again, when retried with its input still broken', async () => {
    const jobId = (mixed.jobs.find((j) => j.originalName === 'truncated.jpg') as { jobId: string }).jobId;
    const before = (await deadLetters()).find((d) => d.id === jobId);
    expect(before).toBeDefined();
    await stack.admin.post(`/dead-letters/${jobId}/retry`).expect(202);

    const letter = await waitFor(async () => (await deadLetters()).find((d) => d.id === jobId && d.failedAt !== before?.failedAt), {
      timeoutMs: 10_000,
      what: 'the job back in the DLQ',
    });
    expect(letter).toMatchObject({ attemptsMade: 1, failedReason: expect.stringMatching(/^CORRUPT_IMAGE: /) });
    expect(await finishedBatch(mixed.batchId)).toMatchObject({ status: 'completed-with-errors', progress: { completed: 1, failed: 1 } });
  });

  it('answers a retry of an unknown id with 404 DEAD_LETTER_NOT_FOUND', async () => {
    const res = await stack.admin.post(`/dead-letters/${randomUUID()}/retry`).expect(404);
    expect(res.body.code).toBe('DEAD_LETTER_NOT_FOUND');
  });
});
