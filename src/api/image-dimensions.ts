import { declaredSizeOf, pixelLimitProblem, readFileStart, type Size } from '../pipeline';
import { HttpError } from './errors';

// Most formats declare their size in the first bytes; a JPEG's frame header can sit behind
// large EXIF/ICC segments, so a second, larger read covers those.
/** The bytes of an upload kept in memory as it streams in (ImageSniffer): the first look at its header. */
export const HEAD_BYTES = 64 * 1024;
const SECOND_READ = 512 * 1024;

/**
 * The pixel dimensions an image file declares, read from its header without decoding it, and
 * the first bytes they were read from: `head` first (the file's first HEAD_BYTES, kept while it
 * streamed in), then the file's start from disk. Undefined when the header cannot be parsed:
 * the worker, which decodes, has the last word.
 */
async function readDeclaredSize(filePath: string, head: Buffer, fileSize: number): Promise<{ width: number; height: number; orientation?: number | undefined; header: Buffer } | undefined> {
  const inHead = declaredSizeOf(head);
  if (inHead) return { ...inHead, header: head };
  if (fileSize <= head.length) return undefined;
  const header = await readFileStart(filePath, SECOND_READ).catch(() => undefined);
  const declared = header && declaredSizeOf(header);
  return header && declared ? { ...declared, header } : undefined;
}

/**
 * Rejects a decompression bomb before anything is queued (pixelLimitProblem); nothing is decoded
 * on the request path. Returns the upright size the image declares, for the output-size limit,
 * so the header is read once per upload, and from disk only when it is not in `head`.
 */
export async function assertPixelLimit(filePath: string, head: Buffer, size: number, maxInputPixels: number): Promise<Size | undefined> {
  const declared = await readDeclaredSize(filePath, head, size);
  const problem = declared && pixelLimitProblem(declared.header, declared, maxInputPixels);
  if (problem) throw new HttpError('TOO_MANY_PIXELS', problem);
  if (!declared) return undefined;
  // image-size reports the stored orientation; 5–8 are stored on their side.
  return (declared.orientation ?? 1) >= 5 ? { width: declared.height, height: declared.width } : { width: declared.width, height: declared.height };
}
