import { declaredSizeOf, pixelLimitProblem, type Size } from '../pipeline';
import { AppError } from './errors';

/** The first `bytes` of one stored file (fewer when it is shorter). */
export type ReadStart = (bytes: number) => Promise<Buffer>;

// Most formats declare their size in the first bytes; a JPEG's frame header can sit behind
// large EXIF/ICC segments, so a second, larger read covers those.
export const FIRST_READ = 64 * 1024;
const SECOND_READ = 512 * 1024;

/**
 * The pixel dimensions an image file declares, read from its header without decoding it, and
 * the first bytes they were read from. Undefined when the header cannot be parsed: the worker,
 * which decodes, has the last word.
 */
async function readDeclaredSize(readStart: ReadStart, fileSize: number): Promise<{ width: number; height: number; orientation?: number | undefined; header: Buffer } | undefined> {
  for (const bytes of fileSize > FIRST_READ ? [FIRST_READ, SECOND_READ] : [FIRST_READ]) {
    const header = await readStart(bytes).catch(() => undefined);
    const declared = header && declaredSizeOf(header);
    if (header && declared) return { ...declared, header };
  }
  return undefined;
}

/**
 * Rejects a decompression bomb before anything is queued (pixelLimitProblem); nothing is decoded
 * on the request path. Returns the upright size the image declares, for the output-size limit,
 * so the header is read once per upload.
 */
export async function assertPixelLimit(readStart: ReadStart, size: number, maxInputPixels: number): Promise<Size | undefined> {
  const declared = await readDeclaredSize(readStart, size);
  const problem = declared && pixelLimitProblem(declared.header, declared, maxInputPixels);
  if (problem) throw new AppError('TOO_MANY_PIXELS', problem);
  if (!declared) return undefined;
  // image-size reports the stored orientation; 5–8 are stored on their side.
  return (declared.orientation ?? 1) >= 5 ? { width: declared.height, height: declared.width } : { width: declared.width, height: declared.height };
}
