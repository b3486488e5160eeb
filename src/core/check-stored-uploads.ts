import { detectImageType } from '../pipeline';
import type { FileStore } from '../storage/file-store';
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
}

async function checkOne(store: FileStore, upload: UncheckedUpload, limits: StoredUploadLimits): Promise<IncomingImage> {
  const info = await store.stat(upload.storedName);
  if (!info) throw new Error(`Expected a stored upload ${upload.storedName} but there is none`);
  if (info.size > limits.maxFileSizeBytes) {
    throw new AppError('FILE_TOO_LARGE', `Expected each file to be at most ${limits.maxFileSizeBytes} bytes but '${upload.originalName}' has ${info.size}`);
  }
  // One read serves the magic bytes and, for most formats, the declared size too.
  const first = await store.readStart(upload.storedName, FIRST_READ);
  const type = detectImageType(first);
  if (info.size === 0 || type === undefined || !acceptedTypes(limits.allowSvg).includes(type)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${upload.originalName}: ${notAnImageDetail(limits.allowSvg, info.size === 0)}`);
  }
  const readStart = (bytes: number) => (bytes <= FIRST_READ ? Promise.resolve(first) : store.readStart(upload.storedName, bytes));
  const declaredSize = await assertPixelLimit(readStart, info.size, limits.maxInputPixels);
  return { ...upload, size: info.size, type, declaredSize };
}

/**
 * The checks a multipart upload gets while it streams in (size, magic bytes, declared pixels),
 * for files that reached `store` some other way, read with ranged reads. All or nothing: every
 * refused file is removed from `store` and the first refusal is thrown; the accepted ones stay.
 */
export async function checkStoredUploads(store: FileStore, uploads: readonly UncheckedUpload[], limits: StoredUploadLimits): Promise<IncomingImage[]> {
  const outcomes = await Promise.allSettled(uploads.map((upload) => checkOne(store, upload, limits)));
  const refused = uploads.filter((_, i) => outcomes[i]?.status === 'rejected');
  await Promise.all(refused.map((upload) => store.remove(upload.storedName)));
  const images: IncomingImage[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') throw outcome.reason;
    images.push(outcome.value);
  }
  return images;
}
