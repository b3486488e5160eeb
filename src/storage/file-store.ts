import type { Readable } from 'node:stream';

export interface StoredFileInfo {
  readonly size: number;
  /** When age-based retention counts from: the last write, or a later time set by keepFrom. */
  readonly modifiedMs: number;
}

/** A file's first bytes, and its size. */
export interface FileHead {
  readonly start: Buffer;
  readonly size: number;
}

export interface ListedFile extends StoredFileInfo {
  readonly name: string;
}

/** What an object store keeps with an output, for whoever fetches it straight from the store. */
export interface WriteOptions {
  readonly contentType?: string | undefined;
  readonly cacheControl?: string | undefined;
}

/** A time-limited URL that lets a client move bytes without the API, and the headers it must send. */
export interface SignedRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A flat namespace of files: the uploads, or the outputs, on the local disk or in a bucket.
 * Names are plain file names, never paths. The optional members are what only some drivers can
 * do; callers check for them, never for a driver.
 */
export interface FileStore {
  /** The whole file; rejects with an error whose code is ENOENT when there is none. */
  read(name: string): Promise<Buffer>;
  /** The first `bytes` bytes (fewer when the file is shorter); ENOENT as read. */
  readStart(name: string, bytes: number): Promise<Buffer>;
  /** The first `bytes` bytes and the file's whole size, in one read; undefined when there is no such file. */
  readHead(name: string, bytes: number): Promise<FileHead | undefined>;
  /** Atomically: a reader sees the previous file or the complete new one, never a part. */
  write(name: string, data: Buffer | Readable, options?: WriteOptions): Promise<void>;
  /**
   * Stores a finished file from this machine's disk under `name`, leaving the source in place;
   * it counts as written now. Resumable uploads arrive this way, however large.
   */
  importFile(name: string, localPath: string): Promise<void>;
  /** A stream of the file; rejects with code ENOENT when there is none. */
  open(name: string): Promise<Readable>;
  /** Undefined when there is no such file. */
  stat(name: string): Promise<StoredFileInfo | undefined>;
  /** Every file, in no particular order; modifiedMs may be earlier than stat's (keepFrom), never later. */
  list(): AsyncIterable<ListedFile>;
  /** Removing a file that is not there is not an error. */
  remove(name: string): Promise<void>;
  /** Sets when age-based retention counts from: a scheduled job's input is kept from when it is due. */
  keepFrom(name: string, ms: number): Promise<void>;
  /** Rejects when the store cannot be used now (readiness). */
  probe(): Promise<void>;
  /** A local path, for express's sendFile (ranges, ETag); only a store on the local disk has one. */
  pathOf?(name: string): string;
  /** A URL that serves the file for a while, with these response headers. */
  signGet?(name: string, response: { readonly contentType: string; readonly contentDisposition: string }): Promise<string>;
  /** A URL a client PUTs the file to, of exactly this size and type. */
  signPut?(name: string, file: { readonly contentType: string; readonly size: number }): Promise<SignedRequest>;
  /** When signed URLs stop working, counted from now. */
  readonly signedUrlTtlSeconds?: number;
}
