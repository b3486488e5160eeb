import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_SPEC, InvalidImageError, processImage, type InvalidImageCode, type PipelineSpec } from '../../src/pipeline';
import { fixtures, generateImage } from '../fixtures/images';

let dir: string;
let counter = 0;
const outputPath = () => path.join(dir, `out-${++counter}.jpg`);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'imgflow-pipeline-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the pipeline and reads the written file back, so assertions are on the output, not the promise. */
async function processAndRead(input: string, spec: PipelineSpec = DEFAULT_SPEC) {
  const output = outputPath();
  const result = await processImage(input, output, spec);
  return { result, meta: await sharp(output).metadata(), output };
}

async function expectInvalid(promise: Promise<unknown>, code: InvalidImageCode): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidImageError);
  expect((err as InvalidImageError).code).toBe(code);
}

describe('processImage with the default spec', () => {
  // Orientations 5–8 are stored with width and height swapped; upright, Portrait_6 is only 450 wide.
  it.each([
    { name: 'Landscape_1 (orientation 1)', input: fixtures.jpegExif1, shape: 'landscape', width: 512 },
    { name: 'Landscape_3 (orientation 3)', input: fixtures.jpegExif3, shape: 'landscape', width: 512 },
    { name: 'Landscape_5 (orientation 5)', input: fixtures.jpegExif5, shape: 'landscape', width: 512 },
    { name: 'Landscape_6 (orientation 6)', input: fixtures.jpegExif6, shape: 'landscape', width: 512 },
    { name: 'Landscape_8 (orientation 8)', input: fixtures.jpegExif8, shape: 'landscape', width: 512 },
    { name: 'Portrait_6 (orientation 6)', input: fixtures.portraitJpegExif6, shape: 'portrait', width: 450 },
  ] as const)('writes $name upright, $width px wide, grey and without metadata', async ({ input, shape, width }) => {
    const { result, meta } = await processAndRead(input);

    expect(result).toMatchObject({ width, format: 'jpeg' });
    expect(meta).toMatchObject({ format: 'jpeg', width: result.width, height: result.height, channels: 1 });
    if (shape === 'landscape') expect(meta.width).toBeGreaterThan(meta.height);
    else expect(meta.height).toBeGreaterThan(meta.width);
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
    expect(meta.icc).toBeUndefined();
  });

  // Expected widths are the upright input width capped at 512: nothing is ever enlarged.
  it.each([
    { name: 'a CMYK JPEG with an ICC profile', input: fixtures.cmykJpeg, width: 500 },
    { name: 'a 16-bit grey PNG with alpha', input: fixtures.grey16AlphaPng, width: 109 },
    { name: 'an RGBA PNG', input: fixtures.rgbaPng, width: 512 },
    { name: 'a WebP', input: fixtures.webp, width: 512 },
    { name: 'an AVIF', input: fixtures.avif, width: 512 },
    { name: 'a 1-bit TIFF', input: fixtures.tiff1Bit, width: 512 },
    { name: 'an animated GIF (first frame)', input: fixtures.animatedGif, width: 80 },
    { name: 'an animated WebP (first frame)', input: fixtures.animatedWebp, width: 370 },
    { name: 'a large photo', input: fixtures.largePhotoJpeg, width: 512 },
    { name: 'a small grey photo', input: fixtures.smallPhotoJpeg, width: 400 },
  ])('turns $name into a single 1-channel JPEG $width px wide', async ({ input, width }) => {
    const before = await sharp(input).metadata();
    const { result, meta } = await processAndRead(input);

    expect(meta).toMatchObject({ format: 'jpeg', width, height: result.height, channels: 1, space: 'b-w', depth: 'uchar' });
    expect(result).toMatchObject({ width, format: 'jpeg' });
    expect(meta.pages).toBeUndefined();
    expect(meta.hasAlpha).toBe(false);
    expect(meta.icc).toBeUndefined();
    // The aspect ratio survives, within a pixel of rounding.
    expect(Math.abs(result.height - Math.round((before.height / before.width) * width))).toBeLessThanOrEqual(1);
  });

  it('flattens transparency onto white rather than black', async () => {
    const transparentBlack = path.join(dir, 'transparent-black.png');
    await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toFile(transparentBlack);

    const { output } = await processAndRead(transparentBlack);

    const { channels } = await sharp(output).stats();
    expect(channels[0]?.min).toBeGreaterThanOrEqual(250);
  });

  it('reports its progress and the size it wrote', async () => {
    const progress: number[] = [];
    const output = outputPath();
    const result = await processImage(fixtures.photoJpeg, output, DEFAULT_SPEC, (p) => {
      progress.push(p);
    });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p >= 0 && p <= 100)).toBe(true);
    expect(result.size).toBe(statSync(output).size);
  });
});

describe('processImage on inputs it can never process', () => {
  it.each([
    ['a truncated JPEG', fixtures.truncatedJpeg],
    ['a truncated PNG', fixtures.truncatedPng],
    ['a JPEG with a damaged header', fixtures.corruptHeaderJpeg],
  ])('rejects %s with CORRUPT_IMAGE and writes nothing', async (_name, input) => {
    const output = outputPath();
    await expectInvalid(processImage(input, output, DEFAULT_SPEC), 'CORRUPT_IMAGE');
    expect(readdirSync(dir).filter((f) => f.startsWith(path.basename(output)))).toEqual([]);
  });

  it('rejects a PNG over maxInputPixels with TOO_MANY_PIXELS', async () => {
    const input = path.join(dir, 'big.png');
    writeFileSync(input, await generateImage({ width: 200, height: 100, format: 'png' }));
    await expectInvalid(processImage(input, outputPath(), { ...DEFAULT_SPEC, maxInputPixels: 200 * 100 - 1 }), 'TOO_MANY_PIXELS');
    // One pixel more allowed and the same file goes through: the limit is what failed it.
    await expect(processImage(input, outputPath(), { ...DEFAULT_SPEC, maxInputPixels: 200 * 100 })).resolves.toMatchObject({ width: 200 });
  });

  it.each([
    ['a text file', 'hello, this is not an image\n'],
    ['an empty file', ''],
  ])('rejects %s with UNSUPPORTED_TYPE', async (_name, content) => {
    const input = path.join(dir, `input-${++counter}.jpg`);
    writeFileSync(input, content);
    await expectInvalid(processImage(input, outputPath(), DEFAULT_SPEC), 'UNSUPPORTED_TYPE');
  });

  it('renders an SVG (the API decides whether SVG is accepted at all)', async () => {
    const input = path.join(dir, 'drawing.svg');
    writeFileSync(input, '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="red"/></svg>');
    await expect(processImage(input, outputPath(), DEFAULT_SPEC)).resolves.toMatchObject({ width: 40, height: 20, format: 'jpeg' });
  });

  it('rejects a missing input with INPUT_MISSING', async () => {
    await expectInvalid(processImage(path.join(dir, 'does-not-exist.jpg'), outputPath(), DEFAULT_SPEC), 'INPUT_MISSING');
  });
});

describe('processImage when the output cannot be written', () => {
  const tmpFilesIn = (d: string) => readdirSync(d).filter((f) => f.endsWith('.tmp'));

  it('rejects with the plain fs error (transient, not InvalidImageError) when the output directory is a file', async () => {
    const notADir = path.join(dir, 'not-a-dir');
    writeFileSync(notADir, 'a regular file where a directory should be');

    const err: unknown = await processImage(fixtures.photoJpeg, path.join(notADir, 'out.jpg'), DEFAULT_SPEC).catch((e: unknown) => e);

    expect(err).not.toBeInstanceOf(InvalidImageError);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    expect(tmpFilesIn(dir)).toEqual([]);
  });

  it('removes its temporary file when the final rename fails', async () => {
    // A directory at the output path: the temp file is written, then the rename over it fails.
    const occupied = path.join(dir, 'occupied.jpg');
    await mkdir(occupied);

    const err: unknown = await processImage(fixtures.photoJpeg, occupied, DEFAULT_SPEC).catch((e: unknown) => e);

    expect(err).not.toBeInstanceOf(InvalidImageError);
    expect(err).toHaveProperty('code', expect.stringMatching(/^E[A-Z]+$/));
    expect(tmpFilesIn(dir)).toEqual([]);
  });
});
