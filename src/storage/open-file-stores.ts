import type { Config } from '../config';
import type { FileStore } from './file-store';
import { createLocalFileStore } from './local-file-store';
import { createS3Client, createS3FileStore } from './s3-file-store';
import { createS3SignedRequests } from './s3-signed-requests';

export interface FileStores {
  readonly uploads: FileStore;
  readonly outputs: FileStore;
  /** Releases the bucket's connections; nothing to do for the local disk. */
  close(): void;
}

/** The one place STORAGE_DRIVER is read: the rest of the code sees two FileStores. */
export function openFileStores(config: Pick<Config, 'storage' | 'uploads' | 'processedDir'>): FileStores {
  const { storage } = config;
  if (storage.driver === 'local') {
    return { uploads: createLocalFileStore(config.uploads.dir), outputs: createLocalFileStore(config.processedDir), close: () => undefined };
  }
  const client = createS3Client(storage.s3);
  const signed = createS3SignedRequests(client, storage.s3.bucket);
  const store = (folder: string) => createS3FileStore(client, { bucket: storage.s3.bucket, keyPrefix: `${storage.s3.prefix}${folder}/`, urlTtlSeconds: storage.s3.urlTtlSeconds, signed });
  return {
    uploads: store('uploads'),
    outputs: store('processed'),
    close: () => {
      signed.destroy();
      client.destroy();
    },
  };
}
