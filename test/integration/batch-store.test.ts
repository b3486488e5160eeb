import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createBatchStore, CorruptBatchError, type BatchStore } from '../../src/queue/batch-store';
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

  async function keysUnder(under: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${under}:*`, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found.sort();
  }

  it('keeps an unfinished batch as long as its inputs, and a finished one for the retention time', async () => {
    const batchId = randomUUID();
    const key = `${prefix}:images:batch:${batchId}`;
    const notAfterMs = (await batches.serverTime()) + 10_000;
    await batches.create({ batchId, createdAt: new Date().toISOString(), files: [{ jobId: 'a', originalName: 'a.jpg' }, { jobId: 'b', originalName: 'b.jpg' }] }, { notAfterMs });
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

  it('writes no record when Redis runs the write after its time (a hung Redis resuming)', async () => {
    const batchId = randomUUID();
    const notAfterMs = (await batches.serverTime()) - 1;
    expect(await batches.create({ batchId, createdAt: new Date().toISOString(), files: [{ jobId: 'a', originalName: 'a.jpg' }] }, { notAfterMs })).toBe(false);
    expect(await redis.exists(`${prefix}:images:batch:${batchId}`)).toBe(0);
  });

  it.each([
    ['an owner and a queued-files quota', { owner: 'alice', quota: { holder: 'key:alice', max: 10 } }],
    ['neither (a server without keys or limits)', {}],
  ])('removes every key its creation wrote, with %s', async (_what, placement) => {
    // A prefix of its own: after the removal, nothing at all may be left under it.
    const own = `imgflow-test-${randomUUID()}`;
    const store = createBatchStore(redis, { prefix: own, ttlSeconds: 100 });
    const batchId = randomUUID();
    const files = [{ jobId: randomUUID(), originalName: 'a.jpg' }, { jobId: randomUUID(), originalName: 'b.jpg' }];
    expect(await store.create({ batchId, createdAt: new Date().toISOString(), files, ...placement }, { notAfterMs: (await store.serverTime()) + 10_000 })).toBe(true);
    expect(await keysUnder(own)).not.toEqual([]);

    await store.remove(batchId);
    expect(await keysUnder(own)).toEqual([]);
  });

  it.each([
    ['files that are not JSON', { files: '[{"jobId":', createdAt: '2026-01-01T00:00:00.000Z' }, /Expected JSON in field files of batch/],
    ['files of the wrong shape', { files: '[{"jobId":1}]', createdAt: '2026-01-01T00:00:00.000Z' }, /Field files of batch .* does not fit/],
    ['an outcome of the wrong shape', { files: '[]', createdAt: '2026-01-01T00:00:00.000Z', 'f:a': '{"state":"completed"}' }, /Field f:a of batch .* does not fit/],
  ])('reads a record with %s as a CorruptBatchError, not a silent cast', async (_what, hash, message) => {
    const batchId = randomUUID();
    await redis.hset(`${prefix}:images:batch:${batchId}`, hash);
    const read = batches.get(batchId);
    await expect(read).rejects.toThrow(CorruptBatchError);
    await expect(read).rejects.toThrow(message);
  });

  it('summarises a record without a total as a CorruptBatchError, not as an empty batch', async () => {
    const batchId = randomUUID();
    await redis.hset(`${prefix}:images:batch:${batchId}`, { files: '[]', createdAt: '2026-01-01T00:00:00.000Z' });
    await expect(batches.summaries([batchId])).rejects.toThrow(/Expected a count in field total of batch/);
  });
});
