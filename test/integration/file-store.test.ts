import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FileStore } from '../../src/storage/file-store';
import { createLocalFileStore } from '../../src/storage/local-file-store';
import { createS3Client, createS3FileStore } from '../../src/storage/s3-file-store';
import { isStorageUnavailable } from '../../src/storage/storage-unavailable';
import { removeDir } from '../helpers/redis';
import { startS3Server, type S3Server } from '../helpers/s3-server';

const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));

/** A stream that sends part of `bytes`, then fails: a client cut off mid-upload. */
const failingSource = () =>
  new Readable({
    read() {
      this.push(bytes.subarray(0, 70_000));
      this.destroy(new Error('cut off'));
    },
  });

let s3: S3Server;
let localDir: string;
const stores: Record<string, FileStore> = {};
const ttl = 60;

beforeAll(async () => {
  s3 = await startS3Server();
  localDir = mkdtempSync(path.join(tmpdir(), 'imgflow-store-'));
  stores.local = createLocalFileStore(localDir);
  const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1', bucket: s3.bucket, prefix: 'p/', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, urlTtlSeconds: ttl });
  stores.s3 = createS3FileStore(client, { bucket: s3.bucket, keyPrefix: 'p/uploads/', urlTtlSeconds: ttl });
});
afterAll(async () => {
  await s3.stop();
  removeDir(localDir);
});

describe.each(['local', 's3'])('the %s file store', (driver) => {
  const store = () => stores[driver] as FileStore;

  it('writes a buffer and a stream, and reads them back whole, from the start, and as a stream', async () => {
    await store().write('a', bytes);
    await store().write('b', Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)]));
    expect((await store().read('a')).equals(bytes)).toBe(true);
    expect((await store().read('b')).equals(bytes)).toBe(true);
    expect((await store().readStart('b', 4096)).equals(bytes.subarray(0, 4096))).toBe(true);
    expect((await store().readStart('b', 1_000_000)).length).toBe(bytes.length);
    const head = await store().readHead('b', 4096);
    expect(head?.size).toBe(bytes.length);
    expect(head?.start.equals(bytes.subarray(0, 4096))).toBe(true);
    expect(await store().readHead('b', 1_000_000)).toMatchObject({ size: bytes.length, start: bytes });
    const chunks: Buffer[] = [];
    for await (const chunk of await store().open('a')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('stats, lists and removes files; a missing one is ENOENT to read and undefined to stat or read the head of', async () => {
    await store().write('c', bytes.subarray(0, 10));
    expect(await store().stat('c')).toMatchObject({ size: 10 });
    const listed = [];
    for await (const file of store().list()) listed.push(file);
    expect(listed.find((f) => f.name === 'c')).toMatchObject({ size: 10 });
    await store().remove('c');
    await store().remove('c');
    expect(await store().stat('c')).toBeUndefined();
    await expect(store().read('c')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(store().readStart('c', 10)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store().readHead('c', 10)).toBeUndefined();
    await expect(store().open('c')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('counts a file\'s age from keepFrom when that is later', async () => {
    await store().write('d', bytes.subarray(0, 10));
    const later = Date.now() + 3_600_000;
    await store().keepFrom('d', later);
    expect((await store().stat('d'))?.modifiedMs).toBeGreaterThanOrEqual(later - 1000);
    expect((await store().read('d')).equals(bytes.subarray(0, 10))).toBe(true);
  });

  it('keeps nothing of a write whose source fails, and reports the source\'s error', async () => {
    await expect(store().write('e', failingSource())).rejects.toThrow('cut off');
    expect(await store().stat('e')).toBeUndefined();
    const names = [];
    for await (const file of store().list()) names.push(file.name);
    expect(names.filter((n) => n === 'e' || n.startsWith('e.'))).toEqual([]);
  });

  it('answers its readiness probe', async () => {
    await expect(store().probe()).resolves.toBeUndefined();
  });
});

// Not against s3rver: it answers a range of an empty object with Content-Length 1 and no byte,
// so the read hangs (S3 answers 416, which readStart turns into no bytes). Uploads never store an
// empty file, and a direct upload's size is checked before its first bytes are read.
describe('the local file store', () => {
  it('rejects a write, buffer or stream, into a directory that is gone with its ENOENT', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'imgflow-store-gone-'));
    const store = createLocalFileStore(path.join(dir, 'missing'));
    await expect(store.write('x', bytes)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(store.write('y', Readable.from([bytes]))).rejects.toMatchObject({ code: 'ENOENT' });
    removeDir(dir);
  });

  it('reads nothing from the start of an empty file', async () => {
    const store = stores.local as FileStore;
    await store.write('empty', Buffer.alloc(0));
    expect((await store.readStart('empty', 64)).length).toBe(0);
    expect(await store.readHead('empty', 64)).toEqual({ start: Buffer.alloc(0), size: 0 });
  });
});

describe('the s3 file store', () => {
  const store = () => stores.s3 as Required<FileStore>;

  it('signs a GET that serves the object with the given headers, and a PUT a client stores a file with', async () => {
    const put = await store().signPut('signed', { contentType: 'image/png', size: bytes.length });
    expect(put.headers).toEqual({ 'Content-Type': 'image/png' });
    const stored = await fetch(put.url, { method: 'PUT', headers: put.headers, body: bytes });
    expect(stored.status).toBe(200);
    const url = await store().signGet('signed', { contentType: 'image/png', contentDisposition: 'inline; filename="x.png"' });
    expect(url).toContain('X-Amz-Expires=60');
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('content-disposition')).toBe('inline; filename="x.png"');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('keeps an output\'s Content-Type and Cache-Control for whoever fetches it from the bucket', async () => {
    await store().write('out.webp', bytes.subarray(0, 100), { contentType: 'image/webp', cacheControl: 'private, max-age=3600' });
    const got = await fetch(`${s3.endpoint}/${s3.bucket}/p/uploads/out.webp`);
    expect(got.headers.get('content-type')).toBe('image/webp');
    expect(got.headers.get('cache-control')).toBe('private, max-age=3600');
    expect((await got.arrayBuffer()).byteLength).toBe(100);
  });

  it('reports an unreachable bucket as StorageUnavailableError on every operation, and works again once it is back', async () => {
    await s3.pause();
    try {
      for (const attempt of [store().probe(), store().read('a'), store().readHead('a', 10), store().stat('a'), store().write('f', bytes), store().write('g', Readable.from([bytes])), store().remove('a')]) {
        const err: unknown = await attempt.then(() => undefined, (e: unknown) => e);
        expect(isStorageUnavailable(err)).toBe(true);
      }
    } finally {
      await s3.resume();
    }
    await expect(store().probe()).resolves.toBeUndefined();
    expect(await store().stat('f')).toBeUndefined();
  });

  it('reads the head of a file in a bucket that is not there as the store\'s fault, not as a missing file', async () => {
    const client = createS3Client({ endpoint: s3.endpoint, region: 'us-east-1', bucket: 'no-such-bucket', prefix: '', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, urlTtlSeconds: ttl });
    try {
      const err: unknown = await createS3FileStore(client, { bucket: 'no-such-bucket', keyPrefix: 'p/', urlTtlSeconds: ttl }).readHead('a', 10).then(() => undefined, (e: unknown) => e);
      expect(isStorageUnavailable(err)).toBe(true);
    } finally {
      client.destroy();
    }
  });
});
