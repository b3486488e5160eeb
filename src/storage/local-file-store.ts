import { randomUUID } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { access, link, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isErrno } from '../errno';
import { readFileStart } from '../pipeline';
import type { FileStore } from './file-store';
import { createSyncFileWriter } from './sync-file-writer';

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
  pathOf(name: string): string;
}

export function createLocalFileStore(dir: string): LocalFileStore {
  const pathOf = (name: string) => pathInStore(dir, name);
  const store: LocalFileStore = {
    dir,
    pathOf,
    read: (name) => readFile(pathOf(name)),
    readStart: (name, bytes) => readFileStart(pathOf(name), bytes),
    async readHead(name, bytes) {
      const file = await open(pathOf(name), 'r').catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
      if (!file) return undefined;
      try {
        const [{ size }, { buffer, bytesRead }] = await Promise.all([file.stat(), file.read(Buffer.alloc(bytes), 0, bytes, 0)]);
        return { start: buffer.subarray(0, bytesRead), size };
      } finally {
        await file.close();
      }
    },
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
    // Content-Type and Cache-Control are the API's to send for a file on disk.
    async write(name, data) {
      const target = pathOf(name);
      // Unique per call: two runs of one job (a stalled one and its retry, in containers that
      // are all pid 1) must not write the same temporary file. The rename makes it atomic.
      const tmp = `${target}.${randomUUID()}.tmp`;
      if (Buffer.isBuffer(data)) {
        // An output, whole already: one write, without a stream's machinery around it.
        try {
          writeFileSync(tmp, data, { flag: 'wx' });
          await rename(tmp, target);
        } catch (err) {
          await rm(tmp, { force: true }).catch(() => undefined);
          throw err;
        }
        return;
      }
      const out = createSyncFileWriter(tmp);
      try {
        await pipeline(data, out);
        await rename(tmp, target);
      } catch (err) {
        // pipeline can reject (a stream cut off) before `out` has opened the file; removing it
        // before the open would leave an empty file behind.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
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
    async *list() {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith('.')) continue; // .gitkeep and friends
        const info = await stat(path.join(dir, name)).catch(() => undefined);
        if (info?.isFile()) yield { name, size: info.size, modifiedMs: info.mtimeMs };
      }
    },
    // One unlink: rm walks the path first (an lstat, then the unlink), a second trip to the threadpool per job.
    remove: (name) => unlink(pathOf(name)).catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err))),
    keepFrom: (name, ms) => utimes(pathOf(name), new Date(), new Date(ms)),
    probe: () => access(dir),
  };
  return store;
}
