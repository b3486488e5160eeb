import { open } from 'node:fs/promises';
import { declaredSizeOf, pixelLimitProblem } from '../pipeline';
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
    const header = await readStart(filePath, bytes).catch(() => undefined);
    const declared = header && declaredSizeOf(header);
    if (header && declared) return { ...declared, header };
  }
  return undefined;
}

/** Rejects a decompression bomb before anything is queued (pixelLimitProblem); nothing is decoded on the request path. */
export async function assertPixelLimit(filePath: string, size: number, maxInputPixels: number): Promise<void> {
  const declared = await readDeclaredSize(filePath, size);
  const problem = declared && pixelLimitProblem(declared.header, declared, maxInputPixels);
  if (problem) throw new HttpError('TOO_MANY_PIXELS', problem);
}
