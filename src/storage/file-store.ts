import type { Readable } from 'node:stream';

export interface StoredFileInfo {
  readonly size: number;
  readonly modifiedMs: number;
}

/**
 * A flat namespace of files: the uploads, or the outputs. Small on purpose, so an object-storage
 * driver can implement it with put / get / head / delete. Names are plain file names, never paths.
 */
export interface FileStore {
  /** The whole file; rejects with an error whose code is ENOENT when there is none. */
  read(name: string): Promise<Buffer>;
  /** Atomically: a reader sees the previous file or the complete new one, never a part. */
  write(name: string, data: Buffer | Readable): Promise<void>;
  /** The first `bytes` of the file (fewer when it is shorter): enough for magic bytes or a header, without reading the rest. */
  readStart(name: string, bytes: number): Promise<Buffer>;
  /**
   * Stores a finished file from this machine's disk under `name`, leaving the source in place;
   * it counts as written now. Resumable uploads arrive this way, however large.
   */
  importFile(name: string, localPath: string): Promise<void>;
  /** A stream of the file; rejects with code ENOENT when there is none. */
  open(name: string): Promise<Readable>;
  /** Undefined when there is no such file. */
  stat(name: string): Promise<StoredFileInfo | undefined>;
  /** Removing a file that is not there is not an error. */
  remove(name: string): Promise<void>;
}
