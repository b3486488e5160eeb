import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import supertest from 'supertest';
import { createApp } from '../../src/api/app';
import { StorageUnavailableError } from '../../src/storage/storage-unavailable';
import { fixtures } from '../fixtures/images';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

describe('POST /process-images → worker → GET /batches/:batchId', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: true });
  });
  afterAll(() => stack.stop());

  it('accepts a batch with 202, and every file reaches completed with a correct output on disk', async () => {
    const res = await stack.request
      .post('/process-images')
      .attach('images', fixtures.jpegExif6)
      .attach('images', fixtures.rgbaPng)
      .attach('images', fixtures.webp)
      .expect(202);

    expect(res.body).toMatchObject({ totalFiles: 3, statusUrl: `/batches/${res.body.batchId}` });
    expect(res.headers.location).toBe(res.body.statusUrl);
    expect(res.body.jobs.map((j: { originalName: string }) => j.originalName)).toEqual(['Landscape_6.jpg', 'blackbug.png', '4.webp']);

    const batch = await waitFor(
      async () => {
        const poll = await stack.request.get(res.body.statusUrl).expect(200);
        return poll.body.status === 'completed' && poll.body;
      },
      { what: 'batch completed' },
    );
    expect(batch.progress).toEqual({ total: 3, completed: 3, failed: 0, active: 0, waiting: 0, delayed: 0 });

    for (const file of batch.files) {
      const output = path.join(stack.world.processedDir, file.result.outputPath);
      const meta = await sharp(output).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', width: 512, channels: 1 });
      expect(file.result).toMatchObject({ width: meta.width, height: meta.height, format: 'jpeg' });
      expect(meta.exif).toBeUndefined();
    }
  });

  it('answers GET /jobs/:jobId and streams the result with its content type', async () => {
    const res = await stack.request.post('/upload').attach('media', fixtures.portraitJpegExif6).expect(202);
    expect(res.body.statusUrl).toBe(`/jobs/${res.body.jobId}`);

    const job = await waitFor(async () => {
      const poll = await stack.request.get(res.body.statusUrl).expect(200);
      return poll.body.state === 'completed' && poll.body;
    });
    expect(job).toMatchObject({ jobId: res.body.jobId, batchId: res.body.batchId, progress: 100, attemptsMade: 1, failedReason: null });
    // Portrait_6 is stored landscape with an EXIF rotation: the output must be upright.
    expect(job.result.height).toBeGreaterThan(job.result.width);

    const image = await stack.request.get(`/jobs/${res.body.jobId}/result`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    expect(image.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(image.body as Buffer).metadata()).height).toBe(job.result.height);
    // The upload is removed once its job completed.
    await waitFor(async () => readdirSync(stack.world.uploadDir).length === 0, { what: 'uploads removed' });
  });
});

describe('POST /process-images refused while its files cannot be removed', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('answers the refusal (400 UNKNOWN_PRESET), not the removal\'s 503, when the store fails to remove the stored files', async () => {
    const store = stack.api.deps.uploadStore;
    const failing = { ...store, remove: () => Promise.reject(new StorageUnavailableError('delete: the bucket is unreachable')) };
    const app = createApp({ ...stack.api.deps, uploadStore: failing });
    const res = await supertest(app).post('/process-images').field('preset', 'no-such-preset').attach('images', fixtures.rgbaPng).expect(400);
    expect(res.body.code).toBe('UNKNOWN_PRESET');
  });
});
