import { detectImageType } from '../pipeline';
import type { FileHead, FileStore } from '../storage/file-store';
import { acceptedTypes, notAnImageDetail } from './accepted-types';
import { AppError } from './errors';
import type { IncomingImage } from './imgflow';
import { assertPixelLimit, FIRST_READ } from './pixel-limit';

export interface StoredUploadLimits {
  readonly maxFileSizeBytes: number;
  readonly maxInputPixels: number;
  readonly allowSvg: boolean;
}

/** A file already in `store` that no one has looked into yet. */
export interface UncheckedUpload {
  readonly storedName: string;
  /** The client's file name, sanitised. */
  readonly originalName: string;
  /** Its first FIRST_READ bytes and size, when the caller has read them already. */
  readonly head?: FileHead | undefined;
}

async function checkOne(store: FileStore, upload: UncheckedUpload, limits: StoredUploadLimits): Promise<IncomingImage> {
  const { storedName, originalName } = upload;
  // One read serves the size, the magic bytes and, for most formats, the declared pixels too.
  const head = upload.head ?? (await store.readHead(storedName, FIRST_READ));
  if (!head) throw new Error(`Expected a stored upload ${storedName} but there is none`);
  const { start, size } = head;
  if (size > limits.maxFileSizeBytes) {
    throw new AppError('FILE_TOO_LARGE', `Expected each file to be at most ${limits.maxFileSizeBytes} bytes but '${originalName}' has ${size}`);
  }
  const type = detectImageType(start);
  if (size === 0 || type === undefined || !acceptedTypes(limits.allowSvg).includes(type)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${originalName}: ${notAnImageDetail(limits.allowSvg, size === 0)}`);
  }
  const readStart = (bytes: number) => (bytes <= FIRST_READ ? Promise.resolve(start) : store.readStart(storedName, bytes));
  const declaredSize = await assertPixelLimit(readStart, size, limits.maxInputPixels);
  return { storedName, originalName, size, type, declaredSize };
}

const isRefusal = (outcome: PromiseSettledResult<IncomingImage> | undefined) => outcome?.status === 'rejected' && outcome.reason instanceof AppError;

/**
 * The checks a multipart upload gets while it streams in (size, magic bytes, declared pixels),
 * for files that reached `store` some other way, read with ranged reads. All or nothing: every
 * refused file is removed from `store` and the first refusal is thrown; the accepted ones stay.
 * A file that could not be read (the store unreachable, an I/O error) is not refused: it stays,
 * so the caller can try again, and its error is thrown when nothing was refused. With
 * `removeRefused: false` nothing is removed, for a caller that removes every file on a refusal.
 */
export async function checkStoredUploads(store: FileStore, uploads: readonly UncheckedUpload[], limits: StoredUploadLimits, { removeRefused = true } = {}): Promise<IncomingImage[]> {
  const outcomes = await Promise.allSettled(uploads.map((upload) => checkOne(store, upload, limits)));
  const refused = removeRefused ? uploads.filter((_, i) => isRefusal(outcomes[i])) : [];
  await Promise.all(refused.map((upload) => store.remove(upload.storedName)));
  const failed = outcomes.find(isRefusal) ?? outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed?.status === 'rejected') throw failed.reason;
  return outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
}
