import { declaredSizeOf, pixelLimitProblem, readFileStart, type Size } from '../pipeline';
import { HttpError } from './errors';

// Most formats declare their size in the first bytes; a JPEG's frame header can sit behind
// large EXIF/ICC segments, so a second, larger read covers those.
const FIRST_READ = 64 * 1024;
const SECOND_READ = 512 * 1024;

/**
 * The pixel dimensions an image file declares, read from its header without decoding it, and
 * the first bytes they were read from. Undefined when the header cannot be parsed: the worker,
 * which decodes, has the last word.
 */
async function readDeclaredSize(filePath: string, fileSize: number): Promise<{ width: number; height: number; orientation?: number | undefined; header: Buffer } | undefined> {
  for (const bytes of fileSize > FIRST_READ ? [FIRST_READ, SECOND_READ] : [FIRST_READ]) {
    const header = await readFileStart(filePath, bytes).catch(() => undefined);
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
export async function assertPixelLimit(filePath: string, size: number, maxInputPixels: number): Promise<Size | undefined> {
  const declared = await readDeclaredSize(filePath, size);
  const problem = declared && pixelLimitProblem(declared.header, declared, maxInputPixels);
  if (problem) throw new HttpError('TOO_MANY_PIXELS', problem);
  if (!declared) return undefined;
  // image-size reports the stored orientation; 5–8 are stored on their side.
  return (declared.orientation ?? 1) >= 5 ? { width: declared.height, height: declared.width } : { width: declared.width, height: declared.height };
}
