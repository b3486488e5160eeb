import sharp from 'sharp';
import { decodeShapeOf, describeShape, maxPixelsToDecode } from './decode-budget';
import { detectImageType, HEADER_BYTES } from './detect-type';
import { InvalidImageError } from './errors';
import type { OutputFormat, PipelineSpec } from './spec';

export interface ImageResult {
  readonly width: number;
  readonly height: number;
  readonly format: OutputFormat;
  /** Bytes of the encoded output. */
  readonly size: number;
}

export interface TransformedImage {
  readonly data: Buffer;
  readonly info: ImageResult;
}

function buildTransform(input: Buffer, spec: PipelineSpec, limitInputPixels: number): sharp.Sharp {
  const image = sharp(input, {
    // Counts width x height x pages loaded; with one page it is the canvas of the first frame.
    limitInputPixels,
    // Only the first frame is ever output. Said here because the decode budget relies on it:
    // every further page loaded would be another canvas in memory.
    pages: 1,
    page: 0,
    // sharp's docs: keep the default 'warning' level with untrusted input, so truncated and
    // damaged files fail here instead of producing half-grey output.
    failOn: 'warning',
    autoOrient: true,
  }).resize({ width: spec.width, withoutEnlargement: spec.withoutEnlargement });

  // toColourspace('b-w') converts after the resize and writes one channel; grayscale() converts
  // at full size and writes three identical ones (measured ~30% slower, see BENCHMARKS.md).
  if (spec.grayscale) image.toColourspace('b-w');
  if (spec.format === 'jpeg') image.flatten({ background: '#ffffff' }); // JPEG has no alpha
  return image.toFormat(spec.format, { quality: spec.quality });
}

// libvips failures that say nothing about the image: another attempt may well succeed.
const TRANSIENT = /out of memory|cannot allocate|too many open files|EMFILE|ENFILE|ENOMEM|EIO\b|EAGAIN/i;

/** An image problem becomes a permanent InvalidImageError; a resource problem is passed on to be retried. */
function classifySharpError(err: unknown, pixelLimit: string): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (TRANSIENT.test(message)) return err;
  if (/pixel limit/i.test(message)) {
    return new InvalidImageError('TOO_MANY_PIXELS', `Expected at most ${pixelLimit} but the image declares more`, { cause: err });
  }
  return new InvalidImageError('CORRUPT_IMAGE', `The image could not be decoded: ${message}`, { cause: err });
}

/**
 * Turns one encoded image into another according to `spec`: bytes in, bytes out, no file
 * system, so where inputs and outputs live (disk, object storage) is the caller's business.
 * Failures of the image itself are InvalidImageError (permanent); anything else is passed on.
 */
export async function transformImage(input: Buffer, spec: PipelineSpec): Promise<TransformedImage> {
  // Whether SVG is welcome is the API's policy (ALLOW_SVG); here every known type is rendered.
  // From a buffer an SVG has no base location, so it cannot pull in neighbouring files.
  const type = detectImageType(input.subarray(0, HEADER_BYTES));
  if (type === undefined) {
    throw new InvalidImageError('UNSUPPORTED_TYPE', 'Expected a JPEG, PNG, WebP, GIF, AVIF, TIFF or SVG image');
  }
  const shape = decodeShapeOf(type, input);
  const limit = maxPixelsToDecode(shape, spec.maxInputPixels);
  try {
    const { data, info } = await buildTransform(input, spec, limit).toBuffer({ resolveWithObject: true });
    return { data, info: { width: info.width, height: info.height, format: spec.format, size: data.length } };
  } catch (err) {
    throw classifySharpError(err, `${limit} pixels for ${describeShape(shape)}`);
  }
}
