import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { detectImageType, HEADER_BYTES } from './detect-type';
import { InvalidImageError } from './errors';
import type { OutputFormat, PipelineSpec } from './spec';

export interface ImageResult {
  readonly width: number;
  readonly height: number;
  readonly format: OutputFormat;
  /** Bytes written. */
  readonly size: number;
}

export type ProgressReporter = (percent: number) => void | Promise<void>;

async function readHeader(inputPath: string): Promise<Uint8Array> {
  let file;
  try {
    file = await open(inputPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InvalidImageError('INPUT_MISSING', 'The uploaded file no longer exists (removed by retention?)', { cause: err });
    }
    throw err;
  }
  try {
    const { buffer, bytesRead } = await file.read(new Uint8Array(HEADER_BYTES), 0, HEADER_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function buildTransform(input: string | Buffer, spec: PipelineSpec): sharp.Sharp {
  const image = sharp(input, {
    limitInputPixels: spec.maxInputPixels,
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
function classifySharpError(err: unknown, spec: PipelineSpec, inputPath: string): unknown {
  // libvips names the file in some messages; the reason is shown to clients, the path is not theirs.
  const message = (err instanceof Error ? err.message : String(err)).replaceAll(inputPath, 'input');
  if (TRANSIENT.test(message)) return err;
  if (/pixel limit/i.test(message)) {
    return new InvalidImageError(
      'TOO_MANY_PIXELS',
      `Expected at most ${spec.maxInputPixels} input pixels but the image declares more`,
      { cause: err },
    );
  }
  return new InvalidImageError('CORRUPT_IMAGE', `The image could not be decoded: ${message}`, { cause: err });
}

/**
 * Turns one input file into one output file according to `spec`.
 *
 * Decoding happens into memory and the (small) output is written to a temporary name and
 * renamed, so a crash never leaves a half-written file that looks finished. Failures of the
 * image itself are InvalidImageError (permanent); file-system failures are passed through as
 * they are (transient: a full disk may have room on the next attempt).
 */
export async function processImage(
  inputPath: string,
  outputPath: string,
  spec: PipelineSpec,
  onProgress?: ProgressReporter,
): Promise<ImageResult> {
  // Whether SVG is welcome is the API's policy (ALLOW_SVG); here every known type is rendered.
  const type = detectImageType(await readHeader(inputPath));
  if (type === undefined) {
    throw new InvalidImageError('UNSUPPORTED_TYPE', 'Expected a JPEG, PNG, WebP, GIF, AVIF, TIFF or SVG image');
  }
  await onProgress?.(10);

  let encoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    // An SVG rendered from a file may pull in other files of its directory (<image href>), which
    // here is every client's uploads; from a buffer it has no base location and loads nothing.
    const input = type === 'svg' ? await readFile(inputPath) : inputPath;
    encoded = await buildTransform(input, spec).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw classifySharpError(err, spec, inputPath);
  }

  // Unique per attempt: two runs of one job (a stalled one and its retry, in containers that are
  // all pid 1) must not write the same temporary file.
  const tmpPath = `${outputPath}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmpPath, encoded.data);
    await rename(tmpPath, outputPath);
  } catch (err) {
    await rm(tmpPath, { force: true }).catch(() => undefined);
    throw err;
  }
  return { width: encoded.info.width, height: encoded.info.height, format: spec.format, size: encoded.data.length };
}
