import sharp from 'sharp';
import { AUTO_QUALITY_TARGET, encodeWithAutoQuality } from './auto-quality';
import { decodeBudgetBytes, decodeShapeOf, describeShape, maxPixelsToDecode } from './decode-budget';
import { detectImageType, HEADER_BYTES } from './detect-type';
import { InvalidImageError } from './errors';
import { plannedOutputSize, scaleNeeded, type Size } from './output-size';
import { MAX_FRAMES, type OutputFormat, type OutputSpec, type PipelineSpec, type VariantSpec } from './spec';
import { withoutGps } from './strip-gps';

export interface ImageResult {
  readonly width: number;
  readonly height: number;
  readonly format: OutputFormat;
  /** Bytes of the encoded output. */
  readonly size: number;
}

export interface VariantResult extends ImageResult {
  /** The encoder quality used; null for formats without one (PNG, GIF). */
  readonly quality: number | null;
  /** The perceptual score `quality: "auto"` reached. */
  readonly score?: number;
}

export interface TransformedImage {
  readonly name: string;
  readonly data: Buffer;
  readonly info: VariantResult;
}

function decodeOptions(limitInputPixels: number, animated: boolean): sharp.SharpOptions {
  return {
    // Counts width x height x pages loaded: the first frame's canvas, or every frame's when animated.
    limitInputPixels,
    // Only the first frame unless the output is animated. Said here because the decode budget
    // relies on it: every further page loaded is another canvas in memory.
    pages: animated ? -1 : 1,
    page: 0,
    // sharp's docs: keep the default 'warning' level with untrusted input, so truncated and
    // damaged files fail here instead of producing half-grey output.
    failOn: 'warning',
    autoOrient: true,
  };
}

/** The settings' operations on a decoded image, up to (not including) the encoder. */
function applyOutput(image: sharp.Sharp, spec: OutputSpec): sharp.Sharp {
  if (spec.rotate !== 0) image.rotate(spec.rotate);
  if (spec.flip) image.flip();
  if (spec.flop) image.flop();
  if (spec.width !== undefined || spec.height !== undefined) {
    image.resize({ width: spec.width, height: spec.height, fit: spec.fit, position: spec.position, withoutEnlargement: spec.withoutEnlargement, background: spec.background });
  }
  if (spec.blur !== undefined) image.blur(spec.blur);
  if (spec.sharpen) image.sharpen();
  // toColourspace('b-w') converts after the resize and writes one channel; grayscale() converts
  // at full size and writes three identical ones (measured ~30% slower, see BENCHMARKS.md).
  if (spec.grayscale) image.toColourspace('b-w');
  if (spec.format === 'jpeg') image.flatten({ background: spec.background }); // JPEG has no alpha
  if (spec.keepMetadata) image.keepIccProfile().keepExif();
  return image;
}

const withEffort = (effort: number | undefined) => (effort === undefined ? {} : { effort });

async function encode(image: sharp.Sharp, variant: VariantSpec, autoQualityTarget: number): Promise<TransformedImage> {
  const { name, format, quality, lossless, effort } = variant;
  if (quality === 'auto' && (format === 'jpeg' || format === 'webp' || format === 'avif')) {
    const found = await encodeWithAutoQuality(image, format, { target: autoQualityTarget, lossless, ...withEffort(effort) });
    return { name, data: found.data, info: infoOf(found.data, found.info, format, found.quality, found.score) };
  }
  const q = quality === 'auto' ? 80 : quality;
  const encoder =
    format === 'jpeg' ? image.jpeg({ quality: q })
    : format === 'webp' ? image.webp({ quality: q, lossless, ...withEffort(effort) })
    : format === 'avif' ? image.avif({ quality: q, lossless, ...withEffort(effort) })
    : format === 'png' ? image.png(withEffort(effort))
    : image.gif(withEffort(effort));
  const { data, info } = await encoder.toBuffer({ resolveWithObject: true });
  return { name, data, info: infoOf(data, info, format, format === 'png' || format === 'gif' ? null : q) };
}

function infoOf(data: Buffer, info: sharp.OutputInfo, format: OutputFormat, quality: number | null, score?: number): VariantResult {
  // An animated output is one tall strip of frames; its height is a frame's.
  const height = info.pages !== undefined && info.pages > 1 && info.pageHeight ? info.pageHeight : info.height;
  return { width: info.width, height, format, size: data.length, quality, ...(score === undefined ? {} : { score }) };
}

// libvips failures that say nothing about the image: another attempt may well succeed.
const TRANSIENT = /out of memory|cannot allocate|too many open files|EMFILE|ENFILE|ENOMEM|EIO\b|EAGAIN/i;

/** An image problem becomes a permanent InvalidImageError; a resource problem is passed on to be retried. */
function classifySharpError(err: unknown, pixelLimit: string): unknown {
  if (err instanceof InvalidImageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (TRANSIENT.test(message)) return err;
  if (/pixel limit/i.test(message)) {
    return new InvalidImageError('TOO_MANY_PIXELS', `Expected at most ${pixelLimit} but the image declares more`, { cause: err });
  }
  return new InvalidImageError('CORRUPT_IMAGE', `The image could not be decoded: ${message}`, { cause: err });
}

function assertOutputSize(spec: PipelineSpec, variant: VariantSpec, size: Size): void {
  if (spec.maxOutputPixels !== undefined && size.width * size.height > spec.maxOutputPixels) {
    throw new InvalidImageError('OUTPUT_TOO_LARGE', `Expected outputs of at most ${spec.maxOutputPixels} pixels but variant '${variant.name}' would be ${size.width}x${size.height}`);
  }
}

/** Today's one-output path, kept as lean as before variants: no metadata read, one pipeline. */
const isLean = (spec: PipelineSpec, variant: VariantSpec) =>
  spec.variants.length === 1 && !variant.animated && !variant.keepMetadata && (variant.withoutEnlargement || spec.maxOutputPixels === undefined);

/**
 * Several outputs from one decode: the input is decoded once, auto-oriented and shrunk to the
 * largest scale any variant needs, into raw pixels each variant is resized and encoded from.
 * Variants that need the input itself (every frame, or its metadata) are decoded on their own,
 * as is everything when the shared pixels would not fit the decode budget.
 */
async function transformVariants(input: Buffer, spec: PipelineSpec, limit: number): Promise<TransformedImage[]> {
  const meta = await sharp(input, { failOn: 'warning', limitInputPixels: limit }).metadata();
  const upright: Size = meta.autoOrient;
  const frames = meta.pages ?? 1;
  for (const variant of spec.variants) {
    assertOutputSize(spec, variant, plannedOutputSize(upright, variant));
    if (variant.animated && frames > MAX_FRAMES) {
      throw new InvalidImageError('TOO_MANY_FRAMES', `Expected an animation of at most ${MAX_FRAMES} frames but the image has ${frames}`);
    }
  }
  const ownDecode = (v: VariantSpec) => (v.animated && frames > 1) || v.keepMetadata;
  const shared = spec.variants.filter((v) => !ownDecode(v));
  const target = spec.autoQualityTarget ?? AUTO_QUALITY_TARGET;

  let fromShared: (() => sharp.Sharp) | undefined;
  if (shared.length > 1) {
    const scale = Math.min(1, Math.max(...shared.map((v) => scaleNeeded(upright, v))));
    const size = { width: Math.max(1, Math.ceil(upright.width * scale)), height: Math.max(1, Math.ceil(upright.height * scale)) };
    if (size.width * size.height * 4 <= decodeBudgetBytes(spec.maxInputPixels)) {
      const decoded = sharp(input, decodeOptions(limit, false));
      if (scale < 1) decoded.resize({ ...size, fit: 'fill' });
      const { data, info } = await decoded.raw().toBuffer({ resolveWithObject: true });
      fromShared = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
    }
  }

  const noGps = spec.variants.some((v) => v.keepMetadata) ? withoutGps(input, meta.exif) : input;
  const results: TransformedImage[] = [];
  for (const variant of spec.variants) {
    const animated = variant.animated && frames > 1;
    const image = fromShared && !ownDecode(variant) ? fromShared() : sharp(variant.keepMetadata ? noGps : input, decodeOptions(limit, animated));
    results.push(await encode(applyOutput(image, variant), variant, target));
  }
  return results;
}

/**
 * Turns one encoded image into every variant of `spec`: bytes in, bytes out, no file system,
 * so where inputs and outputs live (disk, object storage) is the caller's business. Results
 * come in the order of `spec.variants`. Failures of the image itself are InvalidImageError
 * (permanent); anything else is passed on.
 */
export async function transformImage(input: Buffer, spec: PipelineSpec): Promise<TransformedImage[]> {
  // Whether SVG is welcome is the API's policy (ALLOW_SVG); here every known type is rendered.
  // From a buffer an SVG has no base location, so it cannot pull in neighbouring files.
  const type = detectImageType(input.subarray(0, HEADER_BYTES));
  if (type === undefined) {
    throw new InvalidImageError('UNSUPPORTED_TYPE', 'Expected a JPEG, PNG, WebP, GIF, AVIF, TIFF or SVG image');
  }
  const shape = decodeShapeOf(type, input);
  const limit = maxPixelsToDecode(shape, spec.maxInputPixels);
  const [first] = spec.variants;
  try {
    if (isLean(spec, first)) {
      const output = await encode(applyOutput(sharp(input, decodeOptions(limit, false)), first), first, spec.autoQualityTarget ?? AUTO_QUALITY_TARGET);
      // Checked after the encode, so the lean path reads no metadata first: a non-enlarging output
      // is at most its input, which can still be over the output limit (a URL job with `original`).
      assertOutputSize(spec, first, output.info);
      return [output];
    }
    return await transformVariants(input, spec, limit);
  } catch (err) {
    throw classifySharpError(err, `${limit} pixels for ${describeShape(shape)}`);
  }
}
