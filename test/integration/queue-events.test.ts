import { Writable } from 'node:stream';
import type { QueueEvents } from 'bullmq';
import type { RedisClient } from '../../src/queue/redis-target';
import pino from 'pino';
import supertest from 'supertest';
import { composeApi } from '../../src/api/compose';
import { watchQueueEvents } from '../../src/api/queue-events';
import { redisConnection } from '../../src/queue/connection';
import { createShutdown } from '../../src/shutdown';
import { fixtures } from '../fixtures/images';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

describe('QueueEvents subscriber', () => {
  let stack: TestStack;
  let events: QueueEvents;
  let redis: RedisClient;
  const lines: Array<{ msg: string; [key: string]: unknown }> = [];

  beforeAll(async () => {
    stack = await startStack({ worker: true });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    redis = redisConnection(stack.world.config.redis.target, 'worker');
    events = watchQueueEvents(redis, stack.world.prefix, pino(sink));
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await events.close();
    await redis.quit();
    await stack.stop();
  });

  it('reports each completed and failed job, and the batch once every file has an outcome', async () => {
    const res = await stack.request
      .post('/process-images')
      .attach('images', fixtures.photoJpeg)
      .attach('images', fixtures.webp)
      .attach('images', fixtures.truncatedJpeg)
      .expect(202);
    const { batchId, jobs } = res.body as { batchId: string; jobs: Array<{ jobId: string }> };

    const finished = await waitFor(async () => lines.find((l) => l.msg === 'batch finished' && l.batchId === batchId), { what: 'batch finished event' });
    expect(finished).toMatchObject({ completed: 2, failed: 1, total: 3 });
    await waitFor(async () => lines.filter((l) => l.msg === 'job completed').length === 2 || undefined, { what: 'two completed events' });
    expect(lines.filter((l) => l.msg === 'job completed').map((l) => l.jobId).sort()).toEqual([jobs[0]?.jobId, jobs[1]?.jobId].sort());
    const failed = lines.filter((l) => l.msg === 'job failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ jobId: jobs[2]?.jobId, failedReason: expect.stringMatching(/^CORRUPT_IMAGE/) });
    expect(lines.filter((l) => l.msg === 'batch finished')).toHaveLength(1);
  });
});

describe('LOG_QUEUE_EVENTS', () => {
  const sinkOf = (lines: Array<{ msg: string }>) =>
    pino(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    );

  it.each([
    ['unset', {}, 0],
    ['true', { LOG_QUEUE_EVENTS: 'true' }, 1],
  ])('when %s, the API logs %d finished batch(es) from the queue events', async (_what, env, expected) => {
    const stack = await startStack({ worker: true, env });
    const lines: Array<{ msg: string; batchId?: string }> = [];
    // A second API of the same world, logging into `lines`: the setting is what composeApi reads.
    const api = composeApi(stack.world.config, sinkOf(lines));
    try {
      await api.ports.queue.waitUntilReady();
      const res = await supertest(api.app).post('/process-images').attach('images', fixtures.photoJpeg).expect(202);
      const { batchId } = res.body as { batchId: string };
      await waitFor(async () => ((await stack.request.get(`/batches/${batchId}`)).body as { status: string }).status === 'completed' || undefined, { what: 'batch completed' });
      // The reader, when there is one, sees the stream's entries within a few ms; give it time to log.
      if (expected) await waitFor(async () => lines.some((l) => l.msg === 'batch finished') || undefined, { what: 'batch finished line' });
      else await new Promise((resolve) => setTimeout(resolve, 500));
      expect(lines.filter((l) => l.msg === 'batch finished' && l.batchId === batchId)).toHaveLength(expected);
    } finally {
      await createShutdown(stack.world.logger, api.closeSteps)();
      await stack.stop();
    }
  });
});
