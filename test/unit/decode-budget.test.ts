import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { decodeShapeOf, maxPixelsToDecode, type DecodeShape } from '../../src/pipeline';
import { webpWithPatchedCanvas } from '../fixtures/hostile-files';
import { fixtures } from '../fixtures/images';

const flat = () => sharp({ create: { width: 64, height: 48, channels: 3, background: '#884422' } });

describe('decodeShapeOf', () => {
  it.each<[string, () => Promise<Buffer> | Buffer, Parameters<typeof decodeShapeOf>[0], DecodeShape]>([
    ['a baseline JPEG', () => flat().jpeg().toBuffer(), 'jpeg', 'streamed'],
    ['a progressive JPEG (its coefficients are buffered whole)', () => flat().jpeg({ progressive: true }).toBuffer(), 'jpeg', 'buffered'],
    ['a real JPEG with EXIF before its frame header', () => readFileSync(fixtures.jpegExif6), 'jpeg', 'streamed'],
    ['a JPEG cut before its frame header (assume the costlier)', () => readFileSync(fixtures.jpegExif6).subarray(0, 20), 'jpeg', 'buffered'],
    ['a still WebP', () => readFileSync(fixtures.webp), 'webp', 'streamed'],
    ['an animated WebP', () => readFileSync(fixtures.animatedWebp), 'webp', 'buffered'],
    ['an animated WebP with a patched canvas', () => webpWithPatchedCanvas(readFileSync(fixtures.animatedWebp), 10_000, 9_999), 'webp', 'buffered'],
    ['a GIF', () => readFileSync(fixtures.animatedGif), 'gif', 'buffered'],
    ['an AVIF', () => readFileSync(fixtures.avif), 'avif', 'whole'],
    ['a PNG', () => readFileSync(fixtures.rgbaPng), 'png', 'streamed'],
  ])('classifies %s', async (_name, make, type, shape) => {
    expect(decodeShapeOf(type, await make())).toBe(shape);
  });
});

describe('maxPixelsToDecode', () => {
  it('keeps MAX_INPUT_PIXELS for streamed images and gives costlier shapes proportionally fewer', () => {
    expect([maxPixelsToDecode('streamed', 100_000_000), maxPixelsToDecode('buffered', 100_000_000), maxPixelsToDecode('whole', 100_000_000)]).toEqual([
      100_000_000, 33_333_333, 10_000_000,
    ]);
  });
});
