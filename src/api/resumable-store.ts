import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FileStore as TusFileStore } from '@tus/file-store';
import { Server as TusServer } from '@tus/server';
import type { Logger } from 'pino';
import type { FileStore } from '../storage/file-store';
import { createLocalFileStore } from '../storage/local-file-store';
import { HttpError } from './errors';
import { sanitizeOriginalName } from './multipart';

/** Where the tus 1.0 endpoint is served; an upload's URL is this plus `/<uploadId>`. */
export const TUS_PATH = '/uploads/tus';

/** tus upload ids are UUID v4s we generate; anything else in the path never reaches the disk. */
export const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface ResumableOptions {
  readonly dir: string;
  readonly maxSizeBytes: number;
  /** From an upload's creation: past it, finished or not, it can no longer be completed and is swept. */
  readonly expiryMs: number;
}

export interface FinishedUpload {
  readonly id: string;
  /** From the `filename` metadata, sanitised. */
  readonly originalName: string;
}

/** The tus endpoint's uploads on this machine's disk, from the first byte until they join a batch or expire. */
export interface ResumableStore {
  readonly options: ResumableOptions;
  /** Answers one tus request (POST, HEAD, PATCH, DELETE, OPTIONS). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<unknown>;
  /** A finished upload of `owner`'s; UPLOAD_NOT_FOUND (also for another key's), UPLOAD_EXPIRED or UPLOAD_INCOMPLETE otherwise. */
  finished(id: string, owner: string | undefined): Promise<FinishedUpload>;
  /** The uploads named by id, for the checks every upload gets; removing one removes the upload. */
  readonly files: FileStore;
  /** Where an upload's bytes are on this machine's disk. */
  pathOf(id: string): string;
  /** Removes an upload and its record; one that is not there is not an error. */
  remove(id: string): Promise<void>;
  /** Removes every upload past its expiry, and parts whose record was never written; returns how many. */
  sweep(now?: number): Promise<number>;
}

/** A tus error is a plain `{ status_code, body }`. */
function tusStatusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'status_code' in err && typeof err.status_code === 'number' ? err.status_code : undefined;
}

/** The metadata key an upload's API key id is kept under; set by the server, whatever the client sends. */
const OWNER_METADATA = 'imgflow-owner';

/** The API key id the request authenticated with (api-key-auth.ts puts it on the Express response tus is handed). */
const ownerOf = (res: ServerResponse): string | undefined => {
  const locals: unknown = Reflect.get(res, 'locals');
  const id: unknown = typeof locals === 'object' && locals !== null ? Reflect.get(locals, 'apiKeyId') : undefined;
  return typeof id === 'string' ? id : undefined;
};

export function createResumableStore(options: ResumableOptions, logger: Logger): ResumableStore {
  const datastore = new TusFileStore({ directory: options.dir, expirationPeriodInMilliseconds: options.expiryMs });
  const server = new TusServer({
    path: TUS_PATH,
    datastore,
    maxSize: options.maxSizeBytes,
    // Relative, so the URL stays right behind a proxy that rewrites the host or the scheme.
    relativeLocation: true,
    namingFunction: () => randomUUID(),
    // An upload belongs to the key that started it; another key is told it does not exist, as for batches.
    onUploadCreate: async (_req, res, upload) => {
      const { [OWNER_METADATA]: _claimed, ...metadata } = upload.metadata ?? {};
      const owner = ownerOf(res);
      return { res, metadata: owner === undefined ? metadata : { ...metadata, [OWNER_METADATA]: owner } };
    },
    onIncomingRequest: async (_req, res, uploadId) => {
      const owner = ownerOf(res);
      if (owner === undefined) return;
      const upload = await datastore.getUpload(uploadId).catch(() => undefined);
      if (upload && upload.metadata?.[OWNER_METADATA] !== owner) throw { status_code: 404, body: 'The file for this URL was not found\n' };
    },
    onResponseError: (_req, _res, err) => {
      const status = tusStatusOf(err) ?? 500;
      if (status >= 500) logger.error({ err }, 'resumable upload request failed');
      return undefined;
    },
  });
  const local = createLocalFileStore(options.dir);
  const recordOf = (id: string) => `${local.pathOf(id)}.json`;

  const remove = async (id: string) => {
    await Promise.all([rm(local.pathOf(id), { force: true }), rm(recordOf(id), { force: true })]);
  };

  /** When an upload began: its record's creation date, or for parts without a record their file's mtime. */
  const startedAt = async (id: string): Promise<number | undefined> => {
    const record: unknown = await readFile(recordOf(id), 'utf8').then((text) => JSON.parse(text), () => undefined);
    const created = typeof record === 'object' && record !== null && 'creation_date' in record ? Date.parse(String(record.creation_date)) : NaN;
    if (!Number.isNaN(created)) return created;
    return (await stat(local.pathOf(id)).catch(() => undefined))?.mtimeMs;
  };

  return {
    options,

    handle: (req, res) => server.handle(req, res),

    async finished(id, owner) {
      const upload = await datastore.getUpload(id).catch((err: unknown) => {
        const status = tusStatusOf(err);
        if (status === 404 || status === 410) throw new HttpError('UPLOAD_NOT_FOUND', `No upload ${id}; uploads are removed ${options.expiryMs / 3_600_000} h after they start`);
        throw err;
      });
      if (owner !== undefined && upload.metadata?.[OWNER_METADATA] !== owner) throw new HttpError('UPLOAD_NOT_FOUND', `No upload ${id}; uploads are removed ${options.expiryMs / 3_600_000} h after they start`);
      if (upload.creation_date && Date.parse(upload.creation_date) + options.expiryMs < Date.now()) {
        throw new HttpError('UPLOAD_EXPIRED', `Upload ${id} started at ${upload.creation_date} and expired after ${options.expiryMs / 3_600_000} h; upload the file again`);
      }
      if (upload.size === undefined || upload.offset !== upload.size) {
        throw new HttpError('UPLOAD_INCOMPLETE', `Upload ${id} has ${upload.offset} of ${upload.size ?? 'an undeclared number of'} bytes; resume it (PATCH from its Upload-Offset) before completing`);
      }
      return { id, originalName: sanitizeOriginalName(upload.metadata?.filename ?? undefined) };
    },

    files: { ...local, remove },

    pathOf: local.pathOf,

    remove,

    async sweep(now = Date.now()) {
      const names = await readdir(options.dir).catch(() => []);
      const ids = new Set(names.map((name) => name.replace(/\.json$/, '')).filter((name) => UPLOAD_ID.test(name)));
      let removed = 0;
      for (const id of ids) {
        const started = await startedAt(id);
        if (started === undefined || now - started <= options.expiryMs) continue;
        await remove(id);
        removed += 1;
      }
      return removed;
    },
  };
}
