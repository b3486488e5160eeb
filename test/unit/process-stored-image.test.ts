import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { DEFAULT_SPEC, InvalidImageError, transformImage } from '../../src/pipeline';
import { createLocalFileStore, pathInStore } from '../../src/storage/local-file-store';
import { outputNameOf } from '../../src/storage/output-name';
import { processStoredImage } from '../../src/worker/process-stored-image';
import { fixtures } from '../fixtures/images';

let root: string;
let counter = 0;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'imgflow-stored-image-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh uploads/outputs pair holding one upload, `input`. */
async function world(inputFixture: string = fixtures.photoJpeg) {
  const dir = path.join(root, String(++counter));
  await mkdir(path.join(dir, 'uploads'), { recursive: true });
  await mkdir(path.join(dir, 'outputs'));
  writeFileSync(path.join(dir, 'uploads', 'input'), readFileSync(inputFixture));
  const files = { uploads: createLocalFileStore(path.join(dir, 'uploads')), outputs: createLocalFileStore(path.join(dir, 'outputs')) };
  return { dir, files, outputsDir: path.join(dir, 'outputs') };
}

const job = (jobId = 'a7d2c3b4-0000-4000-8000-000000000001') => ({ jobId, inputFile: 'input', spec: DEFAULT_SPEC });

describe('processStoredImage', () => {
  it('writes the transform of the upload under `${jobId}.jpg` and reports what it wrote', async () => {
    const { files, outputsDir } = await world();
    const progress: number[] = [];

    const result = await processStoredImage(files, job(), (p) => {
      progress.push(p);
    });

    expect(result.outputPath).toBe('a7d2c3b4-0000-4000-8000-000000000001.jpg');
    expect(readdirSync(outputsDir)).toEqual([result.outputPath]);
    const written = readFileSync(path.join(outputsDir, result.outputPath));
    expect(result.size).toBe(written.length);
    expect(await sharp(written).metadata()).toMatchObject({ format: 'jpeg', width: result.width, height: result.height });
    // The same bytes the pure transform returns: the adapter adds files, nothing else.
    expect(written.equals((await transformImage(readFileSync(fixtures.photoJpeg), DEFAULT_SPEC))[0]?.data as Buffer)).toBe(true);
    expect(progress.every((p) => p >= 0 && p <= 100) && progress.length > 0).toBe(true);
  });

  it('rejects a missing upload with INPUT_MISSING', async () => {
    const { files } = await world();
    await files.uploads.remove('input');
    const err: unknown = await processStoredImage(files, job()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidImageError);
    expect(err).toHaveProperty('code', 'INPUT_MISSING');
  });

  it('rejects with the plain fs error (transient, not InvalidImageError) when the output directory is gone', async () => {
    const { files, outputsDir } = await world();
    rmSync(outputsDir, { recursive: true });
    writeFileSync(outputsDir, 'a regular file where a directory should be');

    const err: unknown = await processStoredImage(files, job()).catch((e: unknown) => e);

    expect(err).not.toBeInstanceOf(InvalidImageError);
    expect(err).toHaveProperty('code', 'ENOTDIR');
  });

  it('removes its temporary file when the final rename fails', async () => {
    const { files, outputsDir } = await world();
    // A directory at the output's name: the temp file is written, then the rename over it fails.
    await mkdir(path.join(outputsDir, outputNameOf(job().jobId, 'jpeg')));

    const err: unknown = await processStoredImage(files, job()).catch((e: unknown) => e);

    expect(err).not.toBeInstanceOf(InvalidImageError);
    expect(err).toHaveProperty('code', expect.stringMatching(/^E[A-Z]+$/));
    expect(readdirSync(outputsDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('outputNameOf', () => {
  it.each([
    ['keeps the name outputs have always had for the default variant', 'job-1', 'jpeg', undefined, 'job-1.jpg'],
    ['adds a named variant before the extension', 'job-1', 'webp', 'thumb', 'job-1-thumb.webp'],
  ] as const)('%s', (_name, jobId, format, variant, expected) => {
    expect(outputNameOf(jobId, format, variant)).toBe(expected);
  });

  it('refuses a variant that could make two pairs share a name', () => {
    expect(() => outputNameOf('job', 'jpeg', 'a-b')).toThrow(/variant/);
  });
});

describe('the local file store', () => {
  it.each(['../escape', 'a/b', '.hidden', ''])('refuses the name %j', (name) => {
    expect(() => pathInStore(root, name)).toThrow(/plain file name/);
  });

  it('writes a stream atomically and reads, stats, opens and removes it', async () => {
    const store = createLocalFileStore(mkdtempSync(path.join(root, 'store-')));
    const source = new PassThrough();
    const written = store.write('a', source);
    source.write('hel');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Half-way through, the name does not exist yet: readers see the whole file or nothing.
    expect(await store.stat('a')).toBeUndefined();
    source.end('lo');
    await written;
    expect(readdirSync(store.dir)).toEqual(['a']);
    expect((await store.read('a')).toString()).toBe('hello');
    expect(await store.stat('a')).toMatchObject({ size: 5 });
    const chunks: Buffer[] = [];
    for await (const chunk of await store.open('a')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    await store.remove('a');
    await store.remove('a');
    expect(await store.stat('a')).toBeUndefined();
    await expect(store.open('a')).rejects.toHaveProperty('code', 'ENOENT');
    expect(readdirSync(store.dir)).toEqual([]);
    expect(statSync(store.dir).isDirectory()).toBe(true);
  });
});
