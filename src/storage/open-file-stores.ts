import { mkdirSync } from 'node:fs';
import type { Config } from '../config';
import type { FileStore } from './file-store';
import { createLocalFileStore } from './local-file-store';
import type * as S3FileStore from './s3-file-store';
import type * as S3SignedRequests from './s3-signed-requests';

export interface FileStores {
  readonly uploads: FileStore;
  readonly outputs: FileStore;
  /** Resolves when both answer: the two directories, or the one bucket they share. */
  probe(): Promise<void>;
  /** Releases the bucket's connections; nothing to do for the local disk. */
  close(): void;
}

/**
 * On the local disk, the two directories, made at a process's start: /readyz probes both, and
 * the outputs one may not exist yet when the API starts before any worker. A bucket needs none.
 */
export function makeLocalDirectories(config: Pick<Config, 'storage' | 'uploads' | 'processedDir'>): void {
  if (config.storage.driver !== 'local') return;
  mkdirSync(config.uploads.dir, { recursive: true });
  mkdirSync(config.processedDir, { recursive: true });
}

/** With makeLocalDirectories, the one place STORAGE_DRIVER is read: the rest of the code sees two FileStores. */
export function openFileStores(config: Pick<Config, 'storage' | 'uploads' | 'processedDir'>): FileStores {
  const { storage } = config;
  if (storage.driver === 'local') {
    const uploads = createLocalFileStore(config.uploads.dir);
    const outputs = createLocalFileStore(config.processedDir);
    return { uploads, outputs, probe: () => Promise.all([uploads.probe(), outputs.probe()]).then(() => undefined), close: () => undefined };
  }
  // Loaded only with a bucket: the AWS SDK is a fifth of the API's heap, which a process on the
  // local disk would carry, and walk in every full collection, for nothing.
  const { createS3Client, createS3FileStore } = require('./s3-file-store') as typeof S3FileStore;
  const { createS3SignedRequests } = require('./s3-signed-requests') as typeof S3SignedRequests;
  const client = createS3Client(storage.s3);
  const signed = createS3SignedRequests(client, storage.s3.bucket);
  const store = (folder: string) => createS3FileStore(client, { bucket: storage.s3.bucket, keyPrefix: `${storage.s3.prefix}${folder}/`, urlTtlSeconds: storage.s3.urlTtlSeconds, signed });
  const uploads = store('uploads');
  return {
    uploads,
    outputs: store('processed'),
    probe: () => uploads.probe(),
    close: () => {
      signed.destroy();
      client.destroy();
    },
  };
}
