import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { BUILT_IN_PRESETS, resolveOutputs, type OutputPolicy } from '../../src/core/presets';
import { BASE_OUTPUT, DEFAULT_SPEC, transformImage, type OutputSpec, type PipelineSpec, type VariantSpec } from '../../src/pipeline';
import { fixtures, generateImage } from '../fixtures/images';

const policy: OutputPolicy = { presets: BUILT_IN_PRESETS, maxVariants: 5, onlyPresets: false, maxInputPixels: 100_000_000, maxOutputPixels: 50_000_000, autoQualityTarget: 0.98 };
const specOf = (...variants: [VariantSpec, ...VariantSpec[]]): PipelineSpec => ({ variants, maxInputPixels: 100_000_000, maxOutputPixels: 50_000_000 });
const variant = (settings: Partial<OutputSpec>, name = 'custom'): VariantSpec => ({ ...BASE_OUTPUT, ...settings, name });

async function outputsOf(input: string | Buffer, spec: PipelineSpec) {
  const outputs = await transformImage(typeof input === 'string' ? readFileSync(input) : input, spec);
  return Promise.all(outputs.map(async (o) => ({ ...o, meta: await sharp(o.data).metadata() })));
}
async function outputOf(input: string | Buffer, settings: Partial<OutputSpec>) {
  const [output] = await outputsOf(input, specOf(variant(settings)));
  if (!output) throw new Error('no output');
  return output;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the default preset', () => {
  // The mission's pipeline exactly as it was written before presets existed (commit 771295f).
  const before = (input: Buffer) =>
    sharp(input, { limitInputPixels: 100_000_000, pages: 1, page: 0, failOn: 'warning', autoOrient: true })
      .resize({ width: 512, withoutEnlargement: true })
      .toColourspace('b-w')
      .flatten({ background: '#ffffff' })
      .toFormat('jpeg', { quality: 80 })
      .toBuffer();

  it.each([
    ['flowers.jpeg', fixtures.photoJpeg],
    ['Landscape_6.jpg (EXIF 6)', fixtures.jpegExif6],
    ['Portrait_6.jpg', fixtures.portraitJpegExif6],
    ['a CMYK JPEG', fixtures.cmykJpeg],
    ['a 16-bit grey PNG with alpha', fixtures.grey16AlphaPng],
    ['an RGBA PNG', fixtures.rgbaPng],
    ['a WebP', fixtures.webp],
    ['an animated GIF', fixtures.animatedGif],
    ['a 1-bit TIFF', fixtures.tiff1Bit],
  ])('makes %s byte for byte what the pipeline made before presets', async (_name, file) => {
    const input = readFileSync(file);
    const spec = resolveOutputs(policy, {});
    expect(spec.variants).toEqual(DEFAULT_SPEC.variants);
    const [output] = await transformImage(input, spec);
    expect(sha256(output?.data as Buffer)).toBe(sha256(await before(input)));
  });
});

describe('built-in presets', () => {
  it.each([
    { preset: 'thumbnail', format: 'webp', width: 256, height: 256 },
    { preset: 'web', format: 'webp', width: 1280, height: 960 },
    { preset: 'avif', format: 'heif', width: 1280, height: 960 },
    { preset: 'original', format: 'jpeg', width: 2000, height: 1500 },
    { preset: 'default', format: 'jpeg', width: 512, height: 384 },
  ])('$preset makes a $width x $height $format of a 2000x1500 photo', async ({ preset, format, width, height }) => {
    const input = await sharp(fixtures.largePhotoJpeg).resize(2000, 1500, { fit: 'fill' }).jpeg().toBuffer();
    const [output] = await outputsOf(input, resolveOutputs(policy, { preset }));
    expect(output?.meta).toMatchObject({ format, width, height });
    expect(output?.meta.channels).toBe(preset === 'default' ? 1 : 3);
    expect(output?.info).toMatchObject({ width, height, size: output?.data.length });
    // AVIF encodes a 1280x960 frame in about 5 s of one core here; more under a full test run.
  }, 30_000);

  it('makes thumbnail,web,default from one request, each as it would be alone (within a pixel)', async () => {
    const input = readFileSync(fixtures.largePhotoJpeg);
    const together = await outputsOf(input, resolveOutputs(policy, { variants: ['thumbnail', 'web', 'default'] }));
    expect(together.map((o) => o.name)).toEqual(['thumbnail', 'web', 'default']);
    for (const o of together) {
      const [alone] = await outputsOf(input, resolveOutputs(policy, { preset: o.name }));
      expect(o.meta.format).toBe(alone?.meta.format);
      expect(o.meta.channels).toBe(alone?.meta.channels);
      expect(Math.abs((o.meta.width ?? 0) - (alone?.meta.width ?? 0))).toBeLessThanOrEqual(1);
      expect(Math.abs((o.meta.height ?? 0) - (alone?.meta.height ?? 0))).toBeLessThanOrEqual(1);
    }
  });
});

describe('output settings', () => {
  it.each([
    { settings: { width: 300, height: 300, fit: 'cover' as const }, width: 300, height: 300 },
    { settings: { width: 300, height: 300, fit: 'contain' as const }, width: 300, height: 300 },
    { settings: { width: 300, height: 300, fit: 'fill' as const }, width: 300, height: 300 },
    { settings: { width: 300, height: 300, fit: 'inside' as const }, width: 300, height: 200 },
    { settings: { width: 300, height: 300, fit: 'outside' as const }, width: 450, height: 300 },
    { settings: { height: 100 }, width: 150, height: 100 },
    { settings: { width: 1200 }, width: 600, height: 400 },
    { settings: { width: 1200, withoutEnlargement: false }, width: 1200, height: 800 },
    { settings: { width: 100, rotate: 90 as const }, width: 100, height: 150 },
    { settings: { rotate: 270 as const }, width: 400, height: 600 },
    { settings: { width: 200, position: 'entropy' as const, height: 50 }, width: 200, height: 50 },
  ])('resizes a 600x400 image with $settings to $width x $height', async ({ settings, width, height }) => {
    const input = await generateImage({ width: 600, height: 400, format: 'png' });
    const { meta, info } = await outputOf(input, settings);
    expect(meta).toMatchObject({ width, height });
    expect(info).toMatchObject({ width, height });
  });

  it.each([
    { format: 'jpeg' as const, expected: 'jpeg' },
    { format: 'png' as const, expected: 'png' },
    { format: 'webp' as const, expected: 'webp' },
    { format: 'avif' as const, expected: 'heif' },
    { format: 'gif' as const, expected: 'gif' },
  ])('writes $format', async ({ format, expected }) => {
    const { meta, info } = await outputOf(fixtures.photoJpeg, { width: 64, format });
    expect(meta.format).toBe(expected);
    expect(info.format).toBe(format);
    expect(info.quality).toBe(format === 'png' || format === 'gif' ? null : 80);
  });

  it.each([
    { format: 'png' as const, alpha: true },
    { format: 'webp' as const, alpha: true },
    { format: 'avif' as const, alpha: true },
    { format: 'jpeg' as const, alpha: false },
  ])('keeps alpha in $format: $alpha', async ({ format, alpha }) => {
    const { meta } = await outputOf(fixtures.rgbaPng, { width: 64, format });
    expect(meta.hasAlpha).toBe(alpha);
  });

  it('flattens transparency into JPEG on the background colour', async () => {
    const transparent = await sharp({ create: { width: 32, height: 32, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const { data } = await outputOf(transparent, { background: '#ff0000' });
    const { channels } = await sharp(data).stats();
    expect(channels.map((c) => Math.round(c.mean / 10))).toEqual([25, 0, 0]);
  });

  it('pads contain on the background colour', async () => {
    const input = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#000000' } }).png().toBuffer();
    const { data } = await outputOf(input, { width: 100, height: 100, fit: 'contain', background: '#00ff00', format: 'png' });
    const { data: corner } = await sharp(data).extract({ left: 0, top: 0, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
    expect([...corner].slice(0, 3)).toEqual([0, 255, 0]);
  });

  it('makes one grey channel with grayscale, three without', async () => {
    expect((await outputOf(fixtures.photoJpeg, { width: 64, grayscale: true })).meta.channels).toBe(1);
    expect((await outputOf(fixtures.photoJpeg, { width: 64 })).meta.channels).toBe(3);
  });

  it('blurs, sharpens, flips and flops (each changes the pixels, not the size)', async () => {
    const plain = await outputOf(fixtures.photoJpeg, { width: 128, format: 'png' });
    for (const settings of [{ blur: 5 }, { sharpen: true }, { flip: true }, { flop: true }]) {
      const changed = await outputOf(fixtures.photoJpeg, { width: 128, format: 'png', ...settings });
      expect(changed.meta).toMatchObject({ width: plain.meta.width, height: plain.meta.height });
      expect(changed.data.equals(plain.data)).toBe(false);
    }
    const { data: twice } = await outputOf((await outputOf(fixtures.photoJpeg, { width: 128, format: 'png', flip: true })).data, { format: 'png', flip: true });
    expect((await sharp(twice).raw().toBuffer()).equals(await sharp(plain.data).raw().toBuffer())).toBe(true);
  });

  it.each([1, 3, 5, 6, 8] as const)('crops EXIF orientation %i upright before a square cover crop', async (orientation) => {
    const input = { 1: fixtures.jpegExif1, 3: fixtures.jpegExif3, 5: fixtures.jpegExif5, 6: fixtures.jpegExif6, 8: fixtures.jpegExif8 }[orientation];
    const upright = await outputOf(fixtures.jpegExif1, { width: 120, height: 120, format: 'png', grayscale: true });
    const { meta, data } = await outputOf(input, { width: 120, height: 120, format: 'png', grayscale: true });
    expect(meta).toMatchObject({ width: 120, height: 120 });
    expect(meta.orientation).toBeUndefined();
    // The Landscape set is one picture stored eight ways: upright, each crop is the same image.
    const { channels: a } = await sharp(data).stats();
    const { channels: b } = await sharp(upright.data).stats();
    expect(Math.abs((a[0]?.mean ?? 0) - (b[0]?.mean ?? 0))).toBeLessThan(3);
  });

  // Encoders merge identical consecutive frames and add up their delays: the animation's
  // length, not its frame count, is what survives (the 30-frame GIF has 9 distinct frames).
  const duration = (meta: sharp.Metadata) => (meta.delay ?? []).reduce((a, b) => a + b, 0);

  it('keeps an animated GIF animated, every frame, as WebP and GIF; the first frame otherwise', async () => {
    const input = await sharp(fixtures.animatedGif).metadata();
    expect(input.pages).toBe(30);
    for (const format of ['webp', 'gif'] as const) {
      const { meta, info } = await outputOf(fixtures.animatedGif, { width: 40, format, animated: true });
      expect(meta.pages).toBeGreaterThan(1);
      expect(duration(meta)).toBe(duration(input));
      expect(meta).toMatchObject({ width: 40, height: 40 });
      expect(info).toMatchObject({ width: 40, height: 40 });
    }
    expect((await outputOf(fixtures.animatedGif, { width: 40, format: 'webp' })).meta.pages).toBeUndefined();
    const webp = await sharp(fixtures.animatedWebp).metadata();
    const { meta } = await outputOf(fixtures.animatedWebp, { format: 'gif', animated: true });
    expect(meta.pages).toBeGreaterThan(1);
    expect(duration(meta)).toBe(duration(webp));
  });

  it('refuses an animation of more frames than the pixel budget holds with TOO_MANY_PIXELS', async () => {
    const input = readFileSync(fixtures.animatedGif);
    const { width = 0, height = 0, pages = 0 } = await sharp(input).metadata();
    const spec = { ...specOf(variant({ format: 'webp', animated: true })), maxInputPixels: ((width * height * pages) / 3) * 2 };
    await expect(transformImage(input, spec)).rejects.toMatchObject({ code: 'TOO_MANY_PIXELS' });
    // The first frame alone fits the same budget.
    await expect(transformImage(input, { ...spec, variants: [variant({ format: 'webp' })] })).resolves.toHaveLength(1);
  });

  describe('metadata', () => {
    let withGps: Buffer;
    beforeAll(async () => {
      withGps = await sharp(fixtures.photoJpeg)
        .withIccProfile('p3')
        .withExif({ IFD0: { Copyright: 'imgflow test', Make: 'TestCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 3/1' } })
        .jpeg()
        .toBuffer();
      const { exif } = await sharp(withGps).metadata();
      expect(exif?.toString('latin1')).toContain('TestCam'); // the input really has EXIF…
      expect(await gpsTags(exif)).toBe(4); // …and a GPS IFD of four entries
    });

    it('strips everything by default', async () => {
      const { meta } = await outputOf(withGps, { width: 64 });
      expect(meta.exif).toBeUndefined();
      expect(meta.icc).toBeUndefined();
    });

    it.each(['jpeg', 'webp', 'png', 'avif'] as const)('keeps ICC and EXIF but never GPS in %s with keepMetadata', async (format) => {
      const { meta } = await outputOf(withGps, { width: 64, format, keepMetadata: true });
      expect(meta.icc).toBeDefined();
      expect(meta.exif?.toString('latin1')).toContain('TestCam');
      expect(await gpsTags(meta.exif)).toBe(0);
    });
  });
});

/** The number of entries in an EXIF block's GPS IFD (0 when it has none). */
async function gpsTags(exif: Buffer | undefined): Promise<number> {
  if (!exif) return 0;
  const tiff = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? exif.subarray(6) : exif;
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd0 = u32(4);
  for (let i = 0; i < u16(ifd0); i++) {
    const entry = ifd0 + 2 + i * 12;
    if (u16(entry) === 0x8825) return u16(u32(entry + 8));
  }
  return 0;
}

describe('the output limit in the worker', () => {
  it('refuses a single non-enlarging output over MAX_OUTPUT_PIXELS too (a URL job has no header check before it)', async () => {
    const spec = { ...resolveOutputs(policy, { preset: 'original' }), maxOutputPixels: 10_000 };
    await expect(transformImage(readFileSync(fixtures.smallPhotoJpeg), spec)).rejects.toMatchObject({ code: 'OUTPUT_TOO_LARGE' });
  });
});
