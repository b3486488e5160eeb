import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isErrno } from '../errno';
import { readFileStart } from '../pipeline';
import type { FileStore } from './file-store';

/**
 * The one place a stored name becomes a path. Names come from Redis and from results shown to
 * clients, so anything that could climb out of `dir` or reach a dotfile is refused.
 */
export function pathInStore(dir: string, name: string): string {
  if (name === '' || name !== path.basename(name) || name.startsWith('.')) {
    throw new Error(`Expected a plain file name but received ${JSON.stringify(name)}`);
  }
  return path.join(dir, name);
}

/** A FileStore that is a directory on the local disk. */
export interface LocalFileStore extends FileStore {
  readonly dir: string;
  /** For what needs a real path: express's sendFile (ranges, ETag) and the retention sweep. */
  pathOf(name: string): string;
  /** Sets the file's modified time, which age-based retention counts from: a scheduled job's input is kept from when it is due. */
  keepFrom(name: string, ms: number): Promise<void>;
}

export function createLocalFileStore(dir: string): LocalFileStore {
  const pathOf = (name: string) => pathInStore(dir, name);
  const store: LocalFileStore = {
    dir,
    pathOf,
    read: (name) => readFile(pathOf(name)),
    readStart: (name, bytes) => readFileStart(pathOf(name), bytes),
    async importFile(name, localPath) {
      const target = pathOf(name);
      try {
        // A hard link: no byte is copied, and the source can go once the batch is queued.
        await link(localPath, target);
      } catch (err) {
        if (!isErrno(err, 'EXDEV')) throw err;
        await store.write(name, createReadStream(localPath));
      }
      // The link shares the source's mtime, perhaps hours old: the orphan sweep and retention count from now.
      const now = new Date();
      await utimes(target, now, now);
    },
    async write(name, data) {
      const target = pathOf(name);
      // Unique per call: two runs of one job (a stalled one and its retry, in containers that
      // are all pid 1) must not write the same temporary file. The rename makes it atomic.
      const tmp = `${target}.${randomUUID()}.tmp`;
      try {
        await pipeline(Buffer.isBuffer(data) ? Readable.from([data]) : data, createWriteStream(tmp, { flags: 'wx' }));
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw err;
      }
    },
    open: (name) =>
      new Promise((resolve, reject) => {
        const stream = createReadStream(pathOf(name));
        stream.once('open', () => resolve(stream)).once('error', reject);
      }),
    async stat(name) {
      const info = await stat(pathOf(name)).catch(() => undefined);
      return info?.isFile() ? { size: info.size, modifiedMs: info.mtimeMs } : undefined;
    },
    remove: (name) => rm(pathOf(name), { force: true }),
    keepFrom: (name, ms) => utimes(pathOf(name), new Date(), new Date(ms)),
  };
  return store;
}
