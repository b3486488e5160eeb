import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { DEFAULT_SPEC, InvalidImageError, transformImage, type InvalidImageCode, type PipelineSpec } from '../../src/pipeline';
import { webpWithPatchedCanvas } from '../fixtures/hostile-files';
import { fixtures, generateImage } from '../fixtures/images';
import { pngBomb } from '../fixtures/png-bomb';

/** Runs the pipeline and reads its output back, so assertions are on the image, not the promise. */
async function transformAndRead(input: string | Buffer, spec: PipelineSpec = DEFAULT_SPEC) {
  const [output, ...others] = await transformImage(typeof input === 'string' ? readFileSync(input) : input, spec);
  if (!output || others.length) throw new Error('expected exactly one output for one variant');
  const { data, info } = output;
  return { result: info, meta: await sharp(data).metadata(), data };
}

async function expectInvalid(promise: Promise<unknown>, code: InvalidImageCode): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidImageError);
  expect((err as InvalidImageError).code).toBe(code);
}

describe('transformImage with the default spec', () => {
  // Orientations 5–8 are stored with width and height swapped; upright, Portrait_6 is only 450 wide.
  it.each([
    { name: 'Landscape_1 (orientation 1)', input: fixtures.jpegExif1, shape: 'landscape', width: 512 },
    { name: 'Landscape_3 (orientation 3)', input: fixtures.jpegExif3, shape: 'landscape', width: 512 },
    { name: 'Landscape_5 (orientation 5)', input: fixtures.jpegExif5, shape: 'landscape', width: 512 },
    { name: 'Landscape_6 (orientation 6)', input: fixtures.jpegExif6, shape: 'landscape', width: 512 },
    { name: 'Landscape_8 (orientation 8)', input: fixtures.jpegExif8, shape: 'landscape', width: 512 },
    { name: 'Portrait_6 (orientation 6)', input: fixtures.portraitJpegExif6, shape: 'portrait', width: 450 },
  ] as const)('writes $name upright, $width px wide, grey and without metadata', async ({ input, shape, width }) => {
    const { result, meta } = await transformAndRead(input);

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
    const { result, meta } = await transformAndRead(input);

    expect(meta).toMatchObject({ format: 'jpeg', width, height: result.height, channels: 1, space: 'b-w', depth: 'uchar' });
    expect(result).toMatchObject({ width, format: 'jpeg' });
    expect(meta.pages).toBeUndefined();
    expect(meta.hasAlpha).toBe(false);
    expect(meta.icc).toBeUndefined();
    // The aspect ratio survives, within a pixel of rounding.
    expect(Math.abs(result.height - Math.round((before.height / before.width) * width))).toBeLessThanOrEqual(1);
  });

  it('flattens transparency onto white rather than black', async () => {
    const transparentBlack = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();

    const { data } = await transformAndRead(transparentBlack);

    const { channels } = await sharp(data).stats();
    expect(channels[0]?.min).toBeGreaterThanOrEqual(250);
  });

  it('reports the size of the bytes it returns', async () => {
    const { result, data } = await transformAndRead(fixtures.photoJpeg);
    expect(result.size).toBe(data.length);
  });
});

describe('transformImage on inputs it can never process', () => {
  it.each([
    ['a truncated JPEG', fixtures.truncatedJpeg],
    ['a truncated PNG', fixtures.truncatedPng],
    ['a JPEG with a damaged header', fixtures.corruptHeaderJpeg],
  ])('rejects %s with CORRUPT_IMAGE', async (_name, input) => {
    await expectInvalid(transformImage(readFileSync(input), DEFAULT_SPEC), 'CORRUPT_IMAGE');
  });

  it('rejects a PNG over maxInputPixels with TOO_MANY_PIXELS', async () => {
    const input = await generateImage({ width: 200, height: 100, format: 'png' });
    await expectInvalid(transformImage(input, { ...DEFAULT_SPEC, maxInputPixels: 200 * 100 - 1 }), 'TOO_MANY_PIXELS');
    // One pixel more allowed and the same file goes through: the limit is what failed it.
    await expect(transformImage(input, { ...DEFAULT_SPEC, maxInputPixels: 200 * 100 })).resolves.toMatchObject([{ info: { width: 200 } }]);
  });

  // Issue 15: 8 KB that libvips composites onto a 400 MB RGBA canvas. 99.99 MP is under
  // MAX_INPUT_PIXELS, but a canvas costs three times a streamed pixel, so the budget allows a third.
  it('rejects an animated WebP whose canvas is patched to 10000x9999 with TOO_MANY_PIXELS', async () => {
    const bomb = webpWithPatchedCanvas(readFileSync(fixtures.animatedWebp), 10_000, 9_999);
    await expectInvalid(transformImage(bomb, DEFAULT_SPEC), 'TOO_MANY_PIXELS');
    // The same file at a canvas the budget allows is decoded: the budget, not the patch, failed it.
    const allowed = webpWithPatchedCanvas(readFileSync(fixtures.animatedWebp), 5_000, 5_000);
    await expect(transformImage(allowed, DEFAULT_SPEC)).resolves.toMatchObject([{ info: { width: 512, height: 512 } }]);
  });

  it('still decodes a streamed PNG right up to maxInputPixels', async () => {
    await expect(transformImage(pngBomb(10_000, 9_999), DEFAULT_SPEC)).resolves.toMatchObject([{ info: { width: 512 } }]);
  });

  it.each([
    ['a text file', 'hello, this is not an image\n'],
    ['an empty file', ''],
  ])('rejects %s with UNSUPPORTED_TYPE', async (_name, content) => {
    await expectInvalid(transformImage(Buffer.from(content), DEFAULT_SPEC), 'UNSUPPORTED_TYPE');
  });

  it('renders an SVG (the API decides whether SVG is accepted at all)', async () => {
    const input = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="red"/></svg>');
    await expect(transformImage(input, DEFAULT_SPEC)).resolves.toMatchObject([{ info: { width: 40, height: 20, format: 'jpeg' } }]);
  });
});
