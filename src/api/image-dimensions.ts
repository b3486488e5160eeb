import { open } from 'node:fs/promises';
import { imageSize } from 'image-size';
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
 * The pixel dimensions an image file declares, read from its header without decoding it.
 * Undefined when the header cannot be parsed: the worker, which decodes, has the last word.
 */
export async function readDeclaredSize(filePath: string, fileSize: number): Promise<{ width: number; height: number } | undefined> {
  for (const bytes of fileSize > FIRST_READ ? [FIRST_READ, SECOND_READ] : [FIRST_READ]) {
    try {
      const { width, height } = imageSize(await readStart(filePath, bytes));
      if (width && height) return { width, height };
    } catch {
      // not enough of the header in this read, or not parseable at all
    }
  }
  return undefined;
}

/**
 * Rejects a decompression bomb before anything is queued: a few KB of PNG can declare
 * 20000x20000 pixels. Only the header is read; nothing is decoded on the request path.
 */
export async function assertPixelLimit(filePath: string, size: number, maxInputPixels: number): Promise<void> {
  const declared = await readDeclaredSize(filePath, size);
  if (declared && declared.width * declared.height > maxInputPixels) {
    throw new HttpError(
      'TOO_MANY_PIXELS',
      `Expected at most ${maxInputPixels} pixels but the image declares ${declared.width}x${declared.height}`,
    );
  }
}
