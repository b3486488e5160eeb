import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDirectUploadStore, type DirectUploadSession } from '../../src/api/direct-upload-store';
import { deleteKeys } from '../helpers/redis';
import { testRedisUrl } from '../helpers/stack';

describe('direct-upload sessions in Redis', () => {
  const prefix = `imgflow-test-${randomUUID()}`;
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(testRedisUrl(), prefix);
  });
  const session = (): DirectUploadSession => ({
    uploadId: randomUUID(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    files: [{ fileId: randomUUID(), name: 'a.jpg', size: 10, contentType: 'image/jpeg' }],
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('frees the claim of a completion that never finished (an API killed mid-request) after the pending TTL, not the session\'s', async () => {
    const store = createDirectUploadStore(redis, { prefix, pendingTtlMs: 300 });
    const abandoned = session();
    await store.create(abandoned, 3_600_000);
    expect(await store.claim(abandoned.uploadId)).toBe('claimed');
    expect(await store.claim(abandoned.uploadId)).toBe('taken');
    await sleep(500);
    expect(await store.claim(abandoned.uploadId)).toBe('claimed');
  });

  it('keeps a completed session\'s claim for the session\'s lifetime, so it is never completed twice', async () => {
    const store = createDirectUploadStore(redis, { prefix, pendingTtlMs: 300 });
    const done = session();
    await store.create(done, 3_600_000);
    expect(await store.claim(done.uploadId)).toBe('claimed');
    await store.completed(done);
    await sleep(500);
    expect(await store.claim(done.uploadId)).toBe('taken');
    expect(await redis.pttl(`${prefix}:direct-upload:${done.uploadId}:claim`)).toBeGreaterThan(3_500_000);
  });
});
