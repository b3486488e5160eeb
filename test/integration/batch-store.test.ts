import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createBatchStore, type BatchStore } from '../../src/queue/batch-store';
import { deleteKeys } from '../helpers/redis';
import { testRedisUrl } from '../helpers/stack';

describe('batch store lifetimes and counters', () => {
  const prefix = `imgflow-test-${randomUUID()}`;
  let redis: Redis;
  let batches: BatchStore;
  const output = { outputPath: 'x.jpg', width: 1, height: 1, format: 'jpeg' as const, size: 1 };
  const result = { ...output, variants: [{ name: 'default', ...output, quality: 80 }] };

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
    batches = createBatchStore(redis, { prefix, ttlSeconds: 100, pendingTtlSeconds: 10_000 });
  });
  afterAll(async () => {
    await deleteKeys(testRedisUrl(), prefix);
    redis.disconnect();
  });

  it('keeps an unfinished batch as long as its inputs, and a finished one for the retention time', async () => {
    const batchId = randomUUID();
    const key = `${prefix}:images:batch:${batchId}`;
    await batches.create({ batchId, createdAt: new Date().toISOString(), files: [{ jobId: 'a', originalName: 'a.jpg' }, { jobId: 'b', originalName: 'b.jpg' }] });
    expect(await redis.ttl(key)).toBeGreaterThan(9_000);

    await batches.recordOutcome(batchId, 'a', { state: 'completed', result, attemptsMade: 1 });
    expect(await redis.ttl(key)).toBeGreaterThan(9_000); // one file still waits: not shortened

    await batches.recordOutcome(batchId, 'b', { state: 'failed', failedReason: 'CORRUPT_IMAGE: x', attemptsMade: 1 });
    expect(await redis.ttl(key)).toBeLessThanOrEqual(100);
    expect(await redis.hmget(key, 'completed', 'failed')).toEqual(['1', '1']);

    // Recording the same outcome again (a job run twice after a crash) counts once.
    await batches.recordOutcome(batchId, 'a', { state: 'completed', result, attemptsMade: 2 });
    expect(await redis.hmget(key, 'completed', 'failed')).toEqual(['1', '1']);

    // A dead letter put back on the queue makes the batch unfinished again.
    await batches.resetOutcome(batchId, 'b');
    expect(await redis.hmget(key, 'completed', 'failed')).toEqual(['1', '0']);
    expect(await redis.ttl(key)).toBeGreaterThan(9_000);
    expect((await batches.get(batchId))?.outcomes.has('b')).toBe(false);
  });
});
