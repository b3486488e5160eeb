import { Writable } from 'node:stream';
import type { QueueEvents } from 'bullmq';
import type { RedisClient } from '../../src/queue/redis-target';
import pino from 'pino';
import { watchQueueEvents } from '../../src/api/queue-events';
import { redisConnection } from '../../src/queue/connection';
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
    const failed = lines.filter((l) => l.msg === 'job failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ jobId: jobs[2]?.jobId, failedReason: expect.stringMatching(/^CORRUPT_IMAGE/) });
    expect(lines.filter((l) => l.msg === 'batch finished')).toHaveLength(1);
  });
});
