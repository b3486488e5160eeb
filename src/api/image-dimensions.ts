import { open } from 'node:fs/promises';
import { imageSize } from 'image-size';
import { decodeShapeOf, describeShape, detectImageType, maxPixelsToDecode } from '../pipeline';
import { HttpError } from './errors';

// Most formats declare their size in the first bytes; a JPEG's frame header can sit behind
// large EXIF/ICC segments, so a second, larger read covers those.
const FIRST_READ = 64 * 1024;
const SECOND_READ = 512 * 1024;

async function readStart(filePath: string, bytes: number): Promise<Buffer> {
  const file = await open(filePath, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * The pixel dimensions an image file declares, read from its header without decoding it, and
 * the first bytes they were read from. Undefined when the header cannot be parsed: the worker,
 * which decodes, has the last word.
 */
export async function readDeclaredSize(filePath: string, fileSize: number): Promise<{ width: number; height: number; orientation?: number | undefined; header: Buffer } | undefined> {
  for (const bytes of fileSize > FIRST_READ ? [FIRST_READ, SECOND_READ] : [FIRST_READ]) {
    try {
      const header = await readStart(filePath, bytes);
      const { width, height, orientation } = imageSize(header);
      if (width && height) return { width, height, orientation, header };
    } catch {
      // not enough of the header in this read, or not parseable at all
    }
  }
  return undefined;
}

/**
 * Rejects a decompression bomb before anything is queued: a few KB of PNG can declare
 * 20000x20000 pixels. Only the header is read; nothing is decoded on the request path. The
 * limit is the worker's per-image decode budget, so a canvas or an AVIF, which cost several
 * times a JPEG's memory per pixel, get proportionally fewer pixels than MAX_INPUT_PIXELS.
 */
export async function assertPixelLimit(filePath: string, size: number, maxInputPixels: number): Promise<void> {
  const declared = await readDeclaredSize(filePath, size);
  const type = declared && detectImageType(declared.header);
  if (!declared || !type) return;
  const shape = decodeShapeOf(type, declared.header);
  const limit = maxPixelsToDecode(shape, maxInputPixels);
  if (declared.width * declared.height > limit) {
    throw new HttpError('TOO_MANY_PIXELS', `Expected at most ${limit} pixels for ${describeShape(shape)} but the image declares ${declared.width}x${declared.height}`);
  }
}
