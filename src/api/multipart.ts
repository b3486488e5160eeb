import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import multer, { MulterError, type StorageEngine } from 'multer';
import type { ImageType } from '../pipeline';
import { pathInStore } from '../storage/local-file-store';
import { HttpError } from './errors';
import { assertPixelLimit } from './image-dimensions';
import { ImageSniffer } from './image-sniffer';
import type { InFlight } from './in-flight';

/** A stored upload whose content was sniffed while it streamed to disk. */
export interface StoredUpload {
  readonly originalName: string;
  /** Generated name inside the upload directory; never derived from the client's filename. */
  readonly storedName: string;
  readonly path: string;
  readonly size: number;
  readonly type: ImageType;
}

type SniffedFile = Express.Multer.File & { detectedType: ImageType };

/** multer disk storage that names files itself and rejects non-images while they stream in. */
function sniffingDiskStorage(limits: UploadLimits, inFlight: InFlight, onWork: (req: Request, work: Promise<void>) => void): StorageEngine {
  return {
    _handleFile(req, file, cb) {
      const storedName = randomUUID();
      const filePath = pathInStore(limits.dir, storedName);
      const sniffer = new ImageSniffer(limits.allowSvg);
      // Tracked until a failed file is deleted too, so shutdown never leaves a partial file behind.
      const work = inFlight.track(async () => {
        const out = createWriteStream(filePath, { flags: 'wx' });
        try {
          await pipeline(file.stream, sniffer, out);
          await assertPixelLimit(filePath, sniffer.bytes, limits.maxInputPixels);
        } catch (err) {
          // pipeline can reject (a part cut off, a stream destroyed) while `out` is still opening
          // the file; removing it before the open completes would leave an empty file behind.
          if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
          await rm(filePath, { force: true });
          return cb(err);
        }
        cb(null, { destination: limits.dir, filename: storedName, path: filePath, size: sniffer.bytes, detectedType: sniffer.detected } as Partial<SniffedFile>);
      });
      onWork(req, work);
    },
    _removeFile(_req, file, cb) {
      rm(file.path, { force: true }).then(() => cb(null), cb);
    },
  };
}

/**
 * Keeps what is useful to show back to the client and drops what could hurt wherever it is
 * shown: path components, control and bidi-override characters, and unbounded length.
 */
export function sanitizeOriginalName(name: string | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  // Cut to 255 UTF-16 units (the job schema's limit) without leaving half a surrogate pair.
  return (clean || 'unnamed').slice(0, 255).replace(/[\uD800-\uDBFF]$/, '');
}

export interface UploadLimits {
  readonly dir: string;
  readonly maxFiles: number;
  readonly maxFileSizeBytes: number;
  readonly maxInputPixels: number;
  readonly allowSvg: boolean;
}

export type UploadReceiver = (req: Request, res: Response) => Promise<StoredUpload[]>;

/**
 * Receives the files of `field`: they stream to disk (never whole in memory) and are sniffed
 * on the way. A rejected request leaves no file behind; multer removes what was stored.
 */
export function createUploadReceiver(field: string, maxCount: number, limits: UploadLimits, inFlight: InFlight): UploadReceiver {
  // The storage engine's work per request. On a truncated body multer answers as soon as the
  // file stream fails, before the engine has deleted the partial file; a rejected request
  // waits for that, so nothing is left behind when the client gets its answer.
  const fileWork = new WeakMap<Request, Promise<void>[]>();
  const upload = multer({
    storage: sniffingDiskStorage(limits, inFlight, (req, work) => fileWork.set(req, [...(fileWork.get(req) ?? []), work])),
    // Browsers send file names as raw UTF-8; multer's default (latin1) turns 'café.jpg' into 'cafÃ©.jpg'.
    defParamCharset: 'utf8',
    limits: {
      fileSize: limits.maxFileSizeBytes,
      files: maxCount,
      fields: 20,
      fieldSize: 64 * 1024,
      fieldNameSize: 200,
      parts: maxCount + 20,
      headerPairs: 200,
    },
  }).array(field);

  return async (req, res) => {
    if (!req.is('multipart/form-data')) {
      throw new HttpError('NOT_MULTIPART', `Expected a multipart/form-data body with files in the '${field}' field`);
    }
    try {
      await new Promise<void>((resolve, reject) => upload(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    } catch (err) {
      await Promise.allSettled(fileWork.get(req) ?? []);
      // The route's own limit, which the catalogue's generic message cannot know.
      if (err instanceof MulterError && err.code === 'LIMIT_FILE_COUNT') {
        throw new HttpError('TOO_MANY_FILES', `Expected at most ${maxCount} file${maxCount === 1 ? '' : 's'} in the '${field}' field`, { cause: err });
      }
      throw err;
    }
    const files = (req.files ?? []) as SniffedFile[];
    if (files.length === 0) throw new HttpError('NO_FILES', `Expected at least one file in the '${field}' field`);
    return files.map((f) => ({
      originalName: sanitizeOriginalName(f.originalname),
      storedName: f.filename,
      path: f.path,
      size: f.size,
      type: f.detectedType,
    }));
  };
}

/** Removes stored uploads of a request that was not accepted after all. */
export async function discardUploads(uploads: readonly StoredUpload[]): Promise<void> {
  await Promise.all(uploads.map((u) => rm(u.path, { force: true })));
}
