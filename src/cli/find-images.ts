import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { detectImageType, HEADER_BYTES, mimeTypeOf, readFileStart } from '../pipeline';
import { UsageError } from './errors';

/** An image found on disk: its path, where under its argument it sits (for --out), size and type by content. */
export interface FoundImage {
  readonly path: string;
  /** The path relative to the folder argument it was found in; the file name for a file argument. */
  readonly relativePath: string;
  readonly size: number;
  readonly mimeType: string;
}

export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

/**
 * Walks the arguments (files and folders, recursively, in name order) and keeps the files whose
 * first bytes are an image's (src/pipeline/detect-type.ts), whatever their names. A missing
 * argument is a usage error; what is not an image is listed as skipped.
 */
export async function findImages(args: readonly string[]): Promise<{ images: FoundImage[]; skipped: SkippedFile[] }> {
  const images: FoundImage[] = [];
  const skipped: SkippedFile[] = [];
  const visit = async (file: string, root: string): Promise<void> => {
    const info = await stat(file);
    if (info.isDirectory()) {
      const entries = (await readdir(file)).sort();
      for (const entry of entries) await visit(path.join(file, entry), root);
      return;
    }
    const type = info.isFile() ? detectImageType(await readFileStart(file, HEADER_BYTES)) : undefined;
    if (type === undefined) {
      skipped.push({ path: file, reason: info.isFile() ? 'not an image (checked by content)' : 'not a regular file' });
      return;
    }
    images.push({ path: file, relativePath: path.relative(root, file) || path.basename(file), size: info.size, mimeType: mimeTypeOf(type) });
  };
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (!info) throw new UsageError(`No such file or folder: ${arg}`);
    await visit(arg, info.isDirectory() ? arg : path.dirname(arg));
  }
  return { images, skipped };
}
