import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDirectUploadStore, type DirectUploadSession } from '../../src/api/direct-upload-store';
import { createUploadClaims } from '../../src/api/upload-claims';
import { deleteKeys } from '../helpers/redis';
import { testRedisUrl } from '../helpers/stack';

describe('upload claims in Redis', () => {
  const prefix = `imgflow-test-${randomUUID()}`;
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(testRedisUrl(), prefix);
  });
  const ids = (n: number) => Array.from({ length: n }, () => randomUUID());

  it('claims every id or none: a list sharing one held id takes nothing', async () => {
    const claims = createUploadClaims(redis, { prefix, pendingTtlMs: 60_000, usedTtlMs: 60_000 });
    const [a, b, c] = ids(3) as [string, string, string];
    expect(await claims.claim([a, b])).toEqual(expect.any(String));
    expect(await claims.claim([b, c])).toBeUndefined();
    // c was not taken by the refused claim.
    expect(await claims.claim([c])).toEqual(expect.any(String));
  });

  it('lets only the claiming request release its ids', async () => {
    const claims = createUploadClaims(redis, { prefix, pendingTtlMs: 60_000, usedTtlMs: 60_000 });
    const list = ids(2);
    const token = await claims.claim(list);
    await claims.release(list, 'another-request');
    expect(await claims.claim(list)).toBeUndefined();
    await claims.release(list, token ?? '');
    expect(await claims.claim(list)).toEqual(expect.any(String));
  });

  it('frees a claim never confirmed (an API killed mid-request) after the pending TTL, and keeps a confirmed one for the uploads\' lifetime', async () => {
    const claims = createUploadClaims(redis, { prefix, pendingTtlMs: 300, usedTtlMs: 3_600_000 });
    const abandoned = ids(1);
    const confirmed = ids(1);
    expect(await claims.claim(abandoned)).toEqual(expect.any(String));
    await claims.confirm(confirmed, (await claims.claim(confirmed)) ?? '');
    await new Promise((r) => setTimeout(r, 500));
    expect(await claims.claim(abandoned)).toEqual(expect.any(String));
    expect(await claims.claim(confirmed)).toBeUndefined();
    expect(await redis.pttl(`${prefix}:resumable-claim:${confirmed[0]}`)).toBeGreaterThan(3_500_000);
  });

  describe('of direct uploads', () => {
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
});
