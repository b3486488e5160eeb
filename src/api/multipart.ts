import { randomUUID } from 'node:crypto';
import { pipeline, type Writable } from 'node:stream';
import type { Request, Response } from 'express';
import multer, { MulterError, type StorageEngine } from 'multer';
import { assertPixelLimit, FIRST_READ } from '../core/pixel-limit';
import type { ImageType, Size } from '../pipeline';
import type { FileStore } from '../storage/file-store';
import { closeAfterAnswer } from './close-early';
import { HttpError } from './errors';
import { ImageSniffer } from './image-sniffer';
import type { InFlight } from './in-flight';
import { MultipartGuard, multipartBoundary } from './multipart-guard';
import { UploadSession } from './upload-session';

/** A stored upload whose content was sniffed while it streamed to disk. */
export interface StoredUpload {
  readonly originalName: string;
  /** Generated name in the upload store; never derived from the client's filename. */
  readonly storedName: string;
  readonly size: number;
  readonly type: ImageType;
  /** Upright width and height from the header, when it declares them. */
  readonly declaredSize?: Size | undefined;
}

type SniffedFile = Express.Multer.File & { detectedType: ImageType; declaredSize?: Size | undefined };

/** A file our storage engine stored: multer copies the engine's fields onto its file object. */
function isSniffed(file: Express.Multer.File): file is SniffedFile {
  return 'detectedType' in file && typeof file.detectedType === 'string';
}

/**
 * A multer storage engine that names files itself, streams each into the upload store (the
 * disk or a bucket, never whole in memory) and rejects non-images while they stream in.
 */
function sniffingStorage(limits: UploadLimits, store: FileStore, inFlight: InFlight, sessionOf: (req: Request) => UploadSession | undefined): StorageEngine {
  return {
    _handleFile(req, file, cb) {
      const session = sessionOf(req);
      const storedName = randomUUID();
      const sniffer = new ImageSniffer(limits.allowSvg, FIRST_READ);
      session?.streams.add(file.stream);
      // busboy only marks the file truncated and goes on reading it; refuse now instead.
      file.stream.once('limit', () => session?.refuse(Object.assign(new MulterError('LIMIT_FILE_SIZE', file.fieldname), { filename: file.originalname })));
      // Tracked until a failed file is deleted too, so shutdown never leaves a partial file behind.
      const work = inFlight.track(async () => {
        session?.stored.add(storedName);
        let declaredSize: Size | undefined;
        try {
          // A failure of either stream destroys both: the store's write then keeps nothing, and
          // busboy is not left waiting for a file nobody reads.
          await store.write(storedName, pipeline(file.stream, sniffer, () => undefined));
          // The sniffer kept the first FIRST_READ bytes, so only a deep JPEG header is read back.
          const head = sniffer.head();
          const readStart = (bytes: number) => (bytes <= FIRST_READ ? Promise.resolve(head) : store.readStart(storedName, bytes));
          declaredSize = await assertPixelLimit(readStart, sniffer.bytes, limits.maxInputPixels);
        } catch (err) {
          await store.remove(storedName).catch(() => undefined);
          return cb(err);
        }
        const stored: Partial<SniffedFile> = { filename: storedName, size: sniffer.bytes, detectedType: sniffer.detected, declaredSize };
        cb(null, stored);
      });
      session?.work.push(work);
    },
    _removeFile(_req, file, cb) {
      store.remove(file.filename).then(() => cb(null), cb);
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
  readonly maxFiles: number;
  readonly maxFileSizeBytes: number;
  readonly maxInputPixels: number;
  readonly allowSvg: boolean;
}

export type UploadReceiver = (req: Request, res: Response) => Promise<StoredUpload[]>;

const FORM_LIMITS = { fields: 20, fieldSize: 64 * 1024, fieldNameSize: 200, headerPairs: 200 } as const;
/** busboy's own limit on one part's header block, plus the delimiter before it (CR LF -- 70 chars CR LF). */
const PART_FRAMING_BYTES = 16 * 1024 + 76;
/** Browsers send no preamble; a kilobyte is room for any client that does, and for an epilogue. */
export const MAX_PREAMBLE_BYTES = 1024;

/**
 * The largest body a route can need: every file and text field at its limit, every part's
 * header block at busboy's limit, and the preamble and epilogue allowances. A body any longer
 * must break one of those limits, so it can be refused from its Content-Length alone.
 */
export function maxBodyBytes(maxFiles: number, maxFileSizeBytes: number): number {
  const parts = maxFiles + FORM_LIMITS.fields;
  return maxFiles * maxFileSizeBytes + FORM_LIMITS.fields * FORM_LIMITS.fieldSize + (parts + 1) * PART_FRAMING_BYTES + 2 * MAX_PREAMBLE_BYTES;
}

type StreamHandler = (req: Request, busboy: Writable) => void;

/**
 * Receives the files of `field`: they stream to the upload store (never whole in memory) and are sniffed
 * on the way. A rejected request leaves no file behind. A request over a size limit is
 * answered as soon as the limit is crossed, without reading the rest of its body.
 */
export function createUploadReceiver(field: string, maxCount: number, limits: UploadLimits, store: FileStore, inFlight: InFlight): UploadReceiver {
  const sessions = new WeakMap<Request, UploadSession>();
  const guardLimits = { maxBodyBytes: maxBodyBytes(maxCount, limits.maxFileSizeBytes), maxPreambleBytes: MAX_PREAMBLE_BYTES };
  const streamHandler: StreamHandler = (req, busboy) => {
    const session = sessions.get(req);
    // busboy found a boundary, so the session did too (its grammar is the looser one).
    if (!session?.boundary) throw new Error('multipart body without a guarded boundary');
    const guard = new MultipartGuard(session.boundary, guardLimits, (err) => session.refuse(err));
    session.feeds(req, busboy, guard);
    // The limits multer enforces only once the whole body is read, refused as soon as they are crossed.
    busboy.on('filesLimit', () => session.refuse(new MulterError('LIMIT_FILE_COUNT')));
    busboy.on('partsLimit', () => session.refuse(new MulterError('LIMIT_PART_COUNT')));
    busboy.on('fieldsLimit', () => session.refuse(new MulterError('LIMIT_FIELD_COUNT')));
    req.pipe(guard).pipe(busboy);
  };
  // streamHandler is not in @types/multer yet: multer 2.5 lets the caller feed busboy (multer/index.js).
  const options: multer.Options & { streamHandler: StreamHandler } = {
    storage: sniffingStorage(limits, store, inFlight, (req) => sessions.get(req)),
    // Browsers send file names as raw UTF-8; multer's default (latin1) turns 'café.jpg' into 'cafÃ©.jpg'.
    defParamCharset: 'utf8',
    limits: { ...FORM_LIMITS, fileSize: limits.maxFileSizeBytes, files: maxCount, parts: maxCount + FORM_LIMITS.fields },
    streamHandler,
  };
  const upload = multer(options).array(field);

  return async (req, res) => {
    if (!req.is('multipart/form-data')) {
      throw new HttpError('NOT_MULTIPART', `Expected a multipart/form-data body with files in the '${field}' field`);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > guardLimits.maxBodyBytes) {
      throw new HttpError('PAYLOAD_TOO_LARGE', `Expected a body of at most ${guardLimits.maxBodyBytes} bytes but Content-Length is ${declared}`);
    }
    const session = new UploadSession(multipartBoundary(req.headers['content-type'] ?? ''));
    sessions.set(req, session);
    try {
      await new Promise<void>((resolve, reject) => {
        session.start(reject);
        upload(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
      });
    } catch (err) {
      // On a truncated body multer answers as soon as the file stream fails, before the engine
      // has deleted the partial file; and a refused request does not wait for multer at all.
      session.close();
      await session.discard((name) => store.remove(name));
      // The route's own limit, which the catalogue's generic message cannot know.
      if (err instanceof MulterError && err.code === 'LIMIT_FILE_COUNT') {
        throw new HttpError('TOO_MANY_FILES', `Expected at most ${maxCount} file${maxCount === 1 ? '' : 's'} in the '${field}' field`, { cause: err });
      }
      throw err;
    } finally {
      session.settle();
    }
    // Accepted with an epilogue still arriving: close rather than read it to keep the connection.
    if (!req.complete) closeAfterAnswer(req, res);
    const files = Array.isArray(req.files) ? req.files.filter(isSniffed) : [];
    if (files.length === 0) throw new HttpError('NO_FILES', `Expected at least one file in the '${field}' field`);
    return files.map((f) => ({
      originalName: sanitizeOriginalName(f.originalname),
      storedName: f.filename,
      size: f.size,
      type: f.detectedType,
      declaredSize: f.declaredSize,
    }));
  };
}

/**
 * Removes stored uploads of a request that was not accepted after all. A file the store fails
 * to remove (a bucket away for a moment) is an orphan no job names, left to the workers' orphan
 * sweep: the caller answers the refusal, not the removal's error.
 */
export async function discardUploads(store: FileStore, uploads: readonly StoredUpload[]): Promise<void> {
  await Promise.all(uploads.map((u) => store.remove(u.storedName).catch(() => undefined)));
}
