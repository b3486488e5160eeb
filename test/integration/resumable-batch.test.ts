import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { submitResumableBatch, type ResumableDeps } from '../../src/api/resumable-batch';
import { createResumableStore, type ResumableStore } from '../../src/api/resumable-store';
import { createUploadClaims } from '../../src/api/upload-claims';
import { QueueUnavailableError } from '../../src/queue/connection';
import { createLocalFileStore } from '../../src/storage/local-file-store';
import { StorageUnavailableError } from '../../src/storage/storage-unavailable';
import { fixtures } from '../fixtures/images';
import { deleteKeys } from '../helpers/redis';
import { testRedisUrl } from '../helpers/stack';

describe('submitResumableBatch', () => {
  const prefix = `imgflow-test-${randomUUID()}`;
  let redis: Redis;
  let parent: string;
  let tus: ResumableStore;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteKeys(testRedisUrl(), prefix);
  });
  beforeEach(async () => {
    parent = mkdtempSync(path.join(tmpdir(), 'imgflow-resumable-batch-'));
    // A directory that does not exist yet: @tus/file-store's background mkdir is then done once it appears.
    tus = createResumableStore({ dir: path.join(parent, 'tus'), maxSizeBytes: 1024 * 1024, expiryMs: 3_600_000 }, pino({ level: 'silent' }));
    while (!existsSync(path.join(parent, 'tus'))) await new Promise((resolve) => setTimeout(resolve, 5));
    mkdirSync(path.join(parent, 'uploads'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  /** A finished upload as @tus/file-store keeps it. */
  function finishedUpload(): string {
    const id = randomUUID();
    const bytes = readFileSync(fixtures.smallPhotoJpeg);
    writeFileSync(path.join(parent, 'tus', id), bytes);
    writeFileSync(path.join(parent, 'tus', `${id}.json`), JSON.stringify({ id, size: bytes.length, offset: 0, metadata: { filename: 'photo.jpg' }, creation_date: new Date().toISOString() }));
    return id;
  }

  it('gives its claims up when the queue refuses, even if the bucket cannot take the copies back: the uploads can be completed again', async () => {
    const claims = createUploadClaims(redis, { prefix, pendingTtlMs: 60_000, usedTtlMs: 60_000 });
    const local = createLocalFileStore(path.join(parent, 'uploads'));
    const uploads = { ...local, remove: () => Promise.reject(new StorageUnavailableError('delete: the bucket is unreachable')) };
    const resumable: ResumableDeps = { store: tus, claims, uploads, limits: { maxFileSizeBytes: 1024 * 1024, maxInputPixels: 100_000_000, allowSvg: false }, maxFiles: 10 };
    const refusal = new QueueUnavailableError('Redis is reconnecting');
    const imgflow = { submitBatch: () => Promise.reject(refusal) };
    const ids = [finishedUpload(), finishedUpload()];
    await expect(submitResumableBatch({ resumable, imgflow }, { owner: undefined, address: '127.0.0.1' }, ids, {}, {})).rejects.toBe(refusal);
    // Still finished uploads in the tus store, and claimable: a retry can complete them.
    await expect(Promise.all(ids.map((id) => tus.finished(id, undefined)))).resolves.toEqual(ids.map((id) => ({ id, originalName: 'photo.jpg' })));
    expect(await claims.claim(ids)).toEqual(expect.any(String));
  });
});
