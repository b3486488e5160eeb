import { hitchhikersSSIM } from '@blazediff/ssim/hitchhikers-ssim';
import sharp from 'sharp';
import { AUTO_QUALITY_BOUNDS, AUTO_QUALITY_MAX_ENCODES, AUTO_QUALITY_TARGET, encodeWithAutoQuality, searchQuality, type AutoQualityFormat } from '../../src/pipeline/auto-quality';
import { perceptualScore, type RawImage } from '../../src/pipeline/perceptual-score';
import { SAMPLE_TILE, searchSample } from '../../src/pipeline/search-sample';
import { fixtures } from '../fixtures/images';

const FORMATS: readonly AutoQualityFormat[] = ['jpeg', 'webp', 'avif'];
// 640 rather than the presets' 1280: the same search on a quarter of the pixels, so AVIF's
// encoder (seconds per megapixel) keeps this file within Jest's default timeout.
const resized = (input: string | Buffer) => sharp(input, { autoOrient: true }).resize({ width: 640, height: 640, fit: 'inside', withoutEnlargement: true });
// AVIF encodes one 640 px photo several times per test at about a second each on a shared 2-core machine.
jest.setTimeout(60_000);

async function toRaw(image: sharp.Sharp): Promise<RawImage> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Runs the search with the format's encoder spied on, so the test sees every encode. */
async function encodeCounting(image: sharp.Sharp, format: AutoQualityFormat, options: { target: number; lossless?: boolean }) {
  const encodes = jest.spyOn(sharp.prototype as sharp.Sharp, format);
  try {
    const result = await encodeWithAutoQuality(image, format, options);
    return { result, encodes: encodes.mock.calls.length };
  } finally {
    encodes.mockRestore();
  }
}

/** The score an encoded output gets against the pipeline's raw render, measured afresh. */
async function scoreOf(image: sharp.Sharp, data: Buffer): Promise<number> {
  return perceptualScore(await toRaw(image.clone()), await toRaw(sharp(data)));
}

describe('encodeWithAutoQuality on photos', () => {
  it.each(FORMATS.flatMap((format) => [
    { format, name: 'Landscape_1', input: fixtures.jpegExif1 },
    { format, name: 'a large photo', input: fixtures.largePhotoJpeg },
  ]))('finds a $format quality for $name within 4 sample encodes and 1 full one that meets the target and beats q80', async ({ format, input }) => {
    const image = resized(input);
    const { result, encodes } = await encodeCounting(image.clone(), format, { target: AUTO_QUALITY_TARGET });
    const q80 = await image.clone()[format]({ quality: 80 }).toBuffer();
    const reference = await toRaw(image.clone());
    const served = await toRaw(sharp(result.data));
    const sample = searchSample(reference);

    // 640 px is large enough to search on the mosaic: up to 4 encodes of it, then the output once.
    expect(sample).toBeDefined();
    expect(encodes).toBeLessThanOrEqual(AUTO_QUALITY_MAX_ENCODES + 1);
    expect(result.score).toBeGreaterThanOrEqual(AUTO_QUALITY_TARGET);
    expect(result.data.length).toBeLessThan(q80.length);
    expect(result.info).toMatchObject({ format: format === 'avif' ? 'heif' : format, width: reference.width, height: reference.height, size: result.data.length });
    // The reported score is the served output's on the sampled windows: exactly for JPEG (its
    // blocks are coded alone), within the mosaic's context effects for WebP and AVIF (AVIF also
    // searched at a faster effort).
    const onTiles = perceptualScore(reference, served, sample?.sourceRegions);
    if (format === 'jpeg') expect(onTiles).toBeCloseTo(result.score, 6);
    else expect(Math.abs(onTiles - result.score)).toBeLessThan(0.006);
    // And the whole served image agrees with it within the sample's error (BENCHMARKS.md).
    expect(Math.abs((await scoreOf(image, result.data)) - result.score)).toBeLessThan(0.012);
    // And the search did not stop early on a needlessly high quality.
    const lower = await image.clone()[format]({ quality: result.quality - 10 }).toBuffer();
    expect(await scoreOf(image, lower)).toBeLessThan(AUTO_QUALITY_TARGET);
  });
});

describe('encodeWithAutoQuality on other inputs', () => {
  it.each(FORMATS)('takes a flat image down to the bottom of the %s range', async (format) => {
    const flat = sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } });
    const { result, encodes } = await encodeCounting(flat, format, { target: AUTO_QUALITY_TARGET });

    expect(result.quality).toBe(AUTO_QUALITY_BOUNDS[format].min);
    expect(result.score).toBeGreaterThanOrEqual(AUTO_QUALITY_TARGET);
    expect(encodes).toBeLessThanOrEqual(AUTO_QUALITY_MAX_ENCODES);
  });

  it('reaches a low quality on a smooth photo', async () => {
    const { result } = await encodeCounting(resized(fixtures.photoJpeg), 'jpeg', { target: AUTO_QUALITY_TARGET });
    expect(result.quality).toBeLessThanOrEqual(45);
  });

  it.each(FORMATS)('keeps a grey pipeline grey in %s', async (format) => {
    const grey = resized(fixtures.jpegExif1).toColourspace('b-w');
    const { result, encodes } = await encodeCounting(grey, format, { target: AUTO_QUALITY_TARGET });
    const meta = await sharp(result.data).metadata();

    // Searched on the grey mosaic (640 px is large enough), then encoded once at full size.
    expect(encodes).toBeLessThanOrEqual(AUTO_QUALITY_MAX_ENCODES + 1);
    expect(result.score).toBeGreaterThanOrEqual(AUTO_QUALITY_TARGET);
    if (format === 'jpeg') expect(meta.channels).toBe(1);
    const stats = await sharp(result.data).stats();
    // WebP and AVIF store grey as colour; the channels stay equal (within chroma rounding).
    const means = stats.channels.slice(0, 3).map((c) => c.mean);
    expect(Math.max(...means) - Math.min(...means)).toBeLessThan(1);
  });

  it.each([
    { format: 'webp', channels: 4 },
    { format: 'avif', channels: 4 },
    { format: 'jpeg', channels: 3 },
  ] as const)('handles alpha in $format: $channels channels out, score on target', async ({ format, channels }) => {
    const image = resized(fixtures.rgbaPng);
    const { result } = await encodeCounting(image, format, { target: AUTO_QUALITY_TARGET });
    const meta = await sharp(result.data).metadata();

    expect(meta.channels).toBe(channels);
    expect(result.score).toBeGreaterThanOrEqual(AUTO_QUALITY_TARGET);
  });

  it('scores a 16-bit grey PNG with alpha', async () => {
    const { result } = await encodeCounting(resized(fixtures.grey16AlphaPng), 'webp', { target: AUTO_QUALITY_TARGET });
    expect(result.score).toBeGreaterThanOrEqual(AUTO_QUALITY_TARGET);
    expect((await sharp(result.data).metadata()).hasAlpha).toBe(true);
  });

  it.each([
    { width: 4, height: 4 },
    { width: 1, height: 1 },
    { width: 300, height: 3 },
  ])('scores a $width x $height image smaller than the SSIM window', async ({ width, height }) => {
    const tiny = sharp(await sharp(fixtures.jpegExif1).resize(width, height, { fit: 'fill' }).png().toBuffer());
    const { result } = await encodeCounting(tiny, 'jpeg', { target: AUTO_QUALITY_TARGET });

    expect(Number.isFinite(result.score)).toBe(true);
    expect(result.score).toBeGreaterThan(0);
    expect(result.info).toMatchObject({ width, height });
  });

  it('encodes lossless WebP once, as quality 100', async () => {
    const { result, encodes } = await encodeCounting(resized(fixtures.jpegExif1), 'webp', { target: AUTO_QUALITY_TARGET, lossless: true });
    expect(encodes).toBe(1);
    expect(result).toMatchObject({ quality: 100, score: 1 });
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the target %p', async (target) => {
    await expect(encodeWithAutoQuality(resized(fixtures.jpegExif1), 'jpeg', { target })).rejects.toThrow(RangeError);
  });
});

describe('perceptualScore', () => {
  const image = (data: number[], channels: number, width = 16): RawImage => ({ data: Buffer.from(data), width, height: data.length / channels / width, channels });
  const pattern = (channels: number, alpha: (i: number) => number) =>
    Array.from({ length: 16 * 16 }, (_, i) => {
      const v = (i * 37) % 256;
      return channels === 4 ? [v, 255 - v, v, alpha(i)] : [v];
    }).flat();

  it('gives 1 for identical images and less for a blurred one', async () => {
    const ref = await toRaw(resized(fixtures.jpegExif1));
    const blurred = await toRaw(resized(fixtures.jpegExif1).blur(2));
    expect(perceptualScore(ref, ref)).toBeCloseTo(1, 6);
    expect(perceptualScore(ref, blurred)).toBeLessThan(0.9);
  });

  it('computes the SSIM of @blazediff/ssim (hitchhikersSSIM, mean-pooled) when it reads every window', async () => {
    const image = sharp(fixtures.jpegExif1);
    const ref = await toRaw(image.clone());
    const candidate = await toRaw(sharp(await image.clone().webp({ quality: 40 }).toBuffer()));
    const rgba = (raw: RawImage) => sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } }).ensureAlpha().raw().toBuffer();
    const library = hitchhikersSSIM(await rgba(ref), await rgba(candidate), undefined, ref.width, ref.height, { covPooling: false });

    expect(library).toBeLessThan(0.99);
    expect(perceptualScore(ref, candidate, [{ x: 0, y: 0, width: ref.width, height: ref.height }])).toBeCloseTo(library, 6);
  });

  it('samples a large image close to the full-image SSIM it stands for', async () => {
    const image = sharp(fixtures.largePhotoJpeg).resize({ width: 1280 });
    const ref = await toRaw(image.clone());
    const candidate = await toRaw(sharp(await image.clone().jpeg({ quality: 50 }).toBuffer()));
    const rgba = (raw: RawImage) => sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } }).ensureAlpha().raw().toBuffer();
    const full = hitchhikersSSIM(await rgba(ref), await rgba(candidate), undefined, ref.width, ref.height, { covPooling: false });

    expect(full).toBeLessThan(0.97);
    expect(perceptualScore(ref, candidate)).toBeCloseTo(full, 2);
  });

  it('counts a change in alpha alone', () => {
    const ref = image(pattern(4, () => 255), 4);
    const holes = image(pattern(4, (i) => (i % 3 === 0 ? 0 : 255)), 4);
    expect(perceptualScore(ref, ref)).toBeCloseTo(1, 6);
    expect(perceptualScore(ref, holes)).toBeLessThan(0.9);
  });

  it('compares a 1-channel reference with a 3-channel decode of the same grey', () => {
    const grey = pattern(1, () => 255);
    expect(perceptualScore(image(grey, 1), image(grey.flatMap((v) => [v, v, v]), 3))).toBeCloseTo(1, 6);
  });

  it('refuses a candidate of another size', () => {
    expect(() => perceptualScore(image(pattern(1, () => 255), 1), image(pattern(1, () => 255), 1, 8))).toThrow(/Expected a candidate of 16x16/);
  });
});

describe('searchSample', () => {
  it('stacks whole, aligned tiles of the reference into the mosaic, with their windows inside', async () => {
    const reference = await toRaw(sharp(fixtures.largePhotoJpeg).resize({ width: 1280 }));
    const sample = searchSample(reference);
    if (!sample) throw new Error('Expected a sample of a 1280 px photo');
    const { mosaic, regions, sourceRegions } = sample;
    const tiles = Math.floor(reference.width / SAMPLE_TILE) * Math.floor(reference.height / SAMPLE_TILE);

    expect(regions).toHaveLength(sourceRegions.length);
    expect(regions.length).toBe(Math.round(tiles / 16));
    expect(mosaic.width * mosaic.height).toBeLessThan((reference.width * reference.height) / 10);
    expect(new Set(sourceRegions.map((r) => `${r.x},${r.y}`)).size).toBe(sourceRegions.length);
    regions.forEach((region, i) => {
      const source = sourceRegions[i] as (typeof sourceRegions)[number];
      // Tiles are cut on the block grid, and the windows keep clear of the tile's edges.
      expect((source.x - (source.x % SAMPLE_TILE)) % 64).toBe(0);
      expect(source.x % SAMPLE_TILE).toBeGreaterThanOrEqual(2);
      expect((source.x % SAMPLE_TILE) + source.width).toBeLessThanOrEqual(SAMPLE_TILE - 2);
      expect(source.y + source.height).toBeLessThanOrEqual(reference.height);
      const pixel = (image: RawImage, x: number, y: number) => image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3);
      expect(pixel(mosaic, region.x + 7, region.y + 5)).toEqual(pixel(reference, source.x + 7, source.y + 5));
    });
  });

  it('leaves an image smaller than two mosaics to be searched whole', () => {
    expect(searchSample({ data: Buffer.alloc(320 * 240 * 3), width: 320, height: 240, channels: 3 })).toBeUndefined();
    expect(searchSample({ data: Buffer.alloc(3000 * 40 * 3), width: 3000, height: 40, channels: 3 })).toBeUndefined();
  });
});

describe('searchQuality (synthetic scores: the search logic alone)', () => {
  const bounds = AUTO_QUALITY_BOUNDS.jpeg;
  /** A convex score curve like the fixtures', reaching `at` at quality `crossing`. */
  const curve = (crossing: number, at = 0.96) => (q: number) => at + 0.0009 * (q - crossing) + 0.00002 * (q - crossing) ** 2 * Math.sign(q - crossing);

  it.each([35, 48, 62, 77, 88, 94])('finds a passing quality within 3 of a crossing at %i in at most 4 steps', async (crossing) => {
    const score = curve(crossing);
    const evaluate = jest.fn(async (quality: number) => ({ quality, score: score(quality) }));
    const best = await searchQuality(evaluate, 0.96, bounds);

    expect(evaluate.mock.calls.length).toBeLessThanOrEqual(4);
    expect(best.score).toBeGreaterThanOrEqual(0.96);
    expect(best.quality).toBeGreaterThanOrEqual(crossing);
    expect(best.quality).toBeLessThanOrEqual(crossing + 3);
  });

  it('returns the bottom of the range when everything passes', async () => {
    const evaluate = jest.fn(async (quality: number) => ({ quality, score: 0.999 }));
    expect((await searchQuality(evaluate, 0.96, bounds)).quality).toBe(bounds.min);
    expect(evaluate.mock.calls.length).toBeLessThanOrEqual(4);
  });

  it('returns the top of the range when nothing passes', async () => {
    const evaluate = jest.fn(async (quality: number) => ({ quality, score: 0.5 + quality / 1000 }));
    const best = await searchQuality(evaluate, 0.96, bounds);
    expect(best.quality).toBe(bounds.max);
    expect(evaluate.mock.calls.length).toBeLessThanOrEqual(4);
  });

  it('never tries the same quality twice', async () => {
    const evaluate = jest.fn(async (quality: number) => ({ quality, score: curve(71)(quality) }));
    await searchQuality(evaluate, 0.96, bounds);
    const tried = evaluate.mock.calls.map(([q]) => q);
    expect(new Set(tried).size).toBe(tried.length);
  });
});
