import { randomUUID } from 'node:crypto';
import { acceptedTypes, describeAcceptedTypes } from '../core/accepted-types';
import { checkStoredUploads } from '../core/check-stored-uploads';
import { AppError } from '../core/errors';
import type { IncomingImage } from '../core/imgflow';
import { FIRST_READ } from '../core/pixel-limit';
import { mimeTypeOf } from '../pipeline';
import type { FileStore, SignedRequest } from '../storage/file-store';
import type { DirectUploadSession, DirectUploadStore } from './direct-upload-store';
import { HttpError } from './errors';
import { sanitizeOriginalName, type UploadLimits } from './multipart';

/** A file as a client declares it before uploading it. */
export interface DeclaredFile {
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
}

export interface StartedUpload {
  readonly uploadId: string;
  readonly expiresAt: string;
  readonly files: { fileId: string; url: string; method: 'PUT'; headers: SignedRequest['headers'] }[];
}

export interface DirectUploadDeps {
  readonly store: FileStore;
  readonly sessions: DirectUploadStore;
  readonly limits: UploadLimits;
}

export type SigningStore = Required<Pick<FileStore, 'signPut'>> & { readonly ttlSeconds: number };

/** The store's signing, or 501: only object storage lets a client upload around the API. */
export function signingStore(store: FileStore): SigningStore {
  const { signPut, signedUrlTtlSeconds } = store;
  if (!signPut || signedUrlTtlSeconds === undefined) {
    throw new HttpError('DIRECT_UPLOADS_UNSUPPORTED', 'This server keeps files on its own disk (STORAGE_DRIVER=local); upload through POST /process-images instead');
  }
  return { signPut: signPut.bind(store), ttlSeconds: signedUrlTtlSeconds };
}

/** Refuses what multipart would refuse from what a client declares: how many files, how large, which types. */
function checkDeclared(files: readonly DeclaredFile[], limits: UploadLimits): void {
  if (files.length === 0) throw new HttpError('NO_FILES', 'Expected at least one file in `files`');
  if (files.length > limits.maxFiles) throw new HttpError('TOO_MANY_FILES', `Expected at most ${limits.maxFiles} files but received ${files.length}`);
  const types = acceptedTypes(limits.allowSvg).map(mimeTypeOf);
  for (const [i, file] of files.entries()) {
    if (file.size > limits.maxFileSizeBytes) throw new HttpError('FILE_TOO_LARGE', `Expected each file to be at most ${limits.maxFileSizeBytes} bytes but files[${i}] ('${sanitizeOriginalName(file.name)}') declares ${file.size}`);
    if (!types.includes(file.contentType)) throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `Expected a contentType of ${types.join(', ')} (${describeAcceptedTypes(limits.allowSvg)}) but files[${i}] declares ${JSON.stringify(file.contentType)}`);
  }
}

/**
 * Opens a session: one signed PUT per file, valid for S3_URL_TTL_S. The session lives as long
 * again after the last URL expires, so an upload that started in time can still be completed.
 */
export async function startDirectUpload(deps: DirectUploadDeps & { readonly signing: SigningStore }, files: readonly DeclaredFile[], owner: string | undefined): Promise<StartedUpload> {
  const { signing } = deps;
  checkDeclared(files, deps.limits);
  const session: DirectUploadSession = {
    uploadId: randomUUID(),
    expiresAt: new Date(Date.now() + signing.ttlSeconds * 1000).toISOString(),
    ...(owner === undefined ? {} : { owner }),
    files: files.map((f) => ({ fileId: randomUUID(), name: sanitizeOriginalName(f.name), size: f.size, contentType: f.contentType })),
  };
  const signed = await Promise.all(session.files.map((f) => signing.signPut(f.fileId, { contentType: f.contentType, size: f.size })));
  await deps.sessions.create(session, 2 * signing.ttlSeconds * 1000);
  return { uploadId: session.uploadId, expiresAt: session.expiresAt, files: session.files.map((f, i) => ({ fileId: f.fileId, method: 'PUT', ...(signed[i] as SignedRequest) })) };
}

/**
 * Claims the session's one completion and checks every file; `submit` then queues the batch.
 * The caller refuses a store that cannot sign first (signingStore: 501, before the body is read).
 * Another key's session is UPLOAD_NOT_FOUND, word for word, so a key cannot learn which upload
 * ids exist. All or nothing, like multipart: a refused file removes every file of the session and the
 * session. A file not uploaded yet, a refused option or an outage leaves both, so the client can
 * complete again.
 */
export async function completeDirectUpload<T>(deps: DirectUploadDeps, uploadId: string, owner: string | undefined, submit: (images: IncomingImage[]) => Promise<T>): Promise<T> {
  const notFound = () => new HttpError('UPLOAD_NOT_FOUND', `No upload ${uploadId}; an upload session lasts S3_URL_TTL_S after its URLs expire`);
  // Read before claiming: another key's completion must not take, or even briefly hold, the claim.
  const session = await deps.sessions.get(uploadId);
  if (!session || session.owner !== owner) throw notFound();
  const claim = await deps.sessions.claim(uploadId);
  if (claim === 'missing') throw notFound();
  if (claim === 'taken') throw new HttpError('UPLOAD_ALREADY_COMPLETED', `Upload ${uploadId} has already been completed (or is being completed)`);
  let images: IncomingImage[];
  try {
    // One ranged read per file: its size for these checks, its first bytes for checkStoredUploads.
    const heads = await Promise.all(session.files.map((f) => deps.store.readHead(f.fileId, FIRST_READ)));
    const missing = session.files.filter((_, i) => heads[i] === undefined).map((f) => `'${f.name}'`);
    if (missing.length) throw new HttpError('UPLOAD_INCOMPLETE', `Expected every file to be uploaded first but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not`);
    // S3 and MinIO hold a PUT to its signed Content-Length; s3rver does not, so the API checks too.
    const mismatch = session.files.findIndex((f, i) => heads[i]?.size !== f.size);
    const declared = session.files[mismatch];
    if (declared) throw new HttpError('UPLOAD_SIZE_MISMATCH', `Expected '${declared.name}' to be the ${declared.size} bytes declared but ${heads[mismatch]?.size} were uploaded`);
    // Not removing the refused files: the refusal below removes every file of the session, once.
    images = await checkStoredUploads(deps.store, session.files.map((f, i) => ({ storedName: f.fileId, originalName: f.name, head: heads[i] })), deps.limits, { removeRefused: false });
  } catch (err) {
    const refused = err instanceof AppError || (err instanceof HttpError && err.code !== 'UPLOAD_INCOMPLETE');
    if (refused) {
      await Promise.all(session.files.map((f) => deps.store.remove(f.fileId).catch(() => undefined)));
      await deps.sessions.drop(session);
    } else {
      await deps.sessions.release(uploadId);
    }
    throw err;
  }
  let result: T;
  try {
    result = await submit(images);
  } catch (err) {
    await deps.sessions.release(uploadId).catch(() => undefined);
    throw err;
  }
  await deps.sessions.completed(session);
  return result;
}
