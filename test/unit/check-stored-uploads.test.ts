import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkStoredUploads } from '../../src/core/check-stored-uploads';
import { createLocalFileStore } from '../../src/storage/local-file-store';
import { fixtures } from '../fixtures/images';
import { pngBomb } from '../fixtures/png-bomb';

const LIMITS = { maxFileSizeBytes: 1024 * 1024, maxInputPixels: 100_000_000, allowSvg: false };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'imgflow-check-stored-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function stored(name: string, data: Buffer) {
  writeFileSync(path.join(dir, name), data);
  return { storedName: name, originalName: `${name}.img` };
}

describe('checkStoredUploads', () => {
  it('accepts images with their type, size and upright declared size, read from the store', async () => {
    const store = createLocalFileStore(dir);
    const photo = readFileSync(fixtures.portraitJpegExif6);
    const images = await checkStoredUploads(store, [stored('a', photo), stored('b', readFileSync(fixtures.rgbaPng))], LIMITS);
    expect(images[0]).toMatchObject({ storedName: 'a', originalName: 'a.img', type: 'jpeg', size: photo.length });
    // Stored on its side (EXIF 6): the upright size swaps width and height.
    expect(images[0]?.declaredSize?.height).toBeGreaterThan(images[0]?.declaredSize?.width ?? Infinity);
    expect(images[1]).toMatchObject({ storedName: 'b', type: 'png' });
  });

  it.each([
    ['a file over the size limit', 'FILE_TOO_LARGE', () => Buffer.alloc(LIMITS.maxFileSizeBytes + 1, 0xff)],
    ['an empty file', 'UNSUPPORTED_MEDIA_TYPE', () => Buffer.alloc(0)],
    ['a PDF', 'UNSUPPORTED_MEDIA_TYPE', () => Buffer.from('%PDF-1.4\n%%EOF\n')],
    ['an SVG while SVG is not allowed', 'UNSUPPORTED_MEDIA_TYPE', () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')],
    ['a PNG declaring 20000 x 20000 pixels', 'TOO_MANY_PIXELS', () => pngBomb(20_000, 20_000)],
  ])('refuses %s with %s, removes it, and keeps the accepted ones', async (_what, code, make) => {
    const store = createLocalFileStore(dir);
    const good = stored('good', readFileSync(fixtures.smallPhotoJpeg));
    const bad = stored('bad', make());
    await expect(checkStoredUploads(store, [good, bad], LIMITS)).rejects.toMatchObject({ code });
    expect(existsSync(path.join(dir, 'bad'))).toBe(false);
    expect(existsSync(path.join(dir, 'good'))).toBe(true);
  });

  it('keeps a file it could not read (an I/O error, not a refusal) and rejects with that error', async () => {
    const local = createLocalFileStore(dir);
    const failure = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    const store = { ...local, readHead: (name: string, bytes: number) => (name === 'unread' ? Promise.reject(failure) : local.readHead(name, bytes)) };
    const good = stored('good', readFileSync(fixtures.smallPhotoJpeg));
    const unread = stored('unread', readFileSync(fixtures.smallPhotoJpeg));
    await expect(checkStoredUploads(store, [good, unread], LIMITS)).rejects.toBe(failure);
    expect(existsSync(path.join(dir, 'unread'))).toBe(true);
    expect(existsSync(path.join(dir, 'good'))).toBe(true);
  });
});
