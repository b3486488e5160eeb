import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FileStatus } from './api-types';
import type { ApiClient } from './http-client';

/**
 * Picks output paths under one folder: the server's name for each result (the input's name, its
 * variant, the output's extension) in the input's sub-folder, with `-2`, `-3`… when two inputs
 * would give the same name (photo.png and photo.jpg both become photo.jpg).
 */
export function createOutputNamer(outDir: string): (relativeInput: string, fileName: string) => string {
  const used = new Set<string>();
  return (relativeInput, fileName) => {
    const dir = path.join(outDir, path.dirname(relativeInput));
    const ext = path.extname(fileName);
    const stem = fileName.slice(0, fileName.length - ext.length);
    for (let n = 1; ; n++) {
      const candidate = path.join(dir, n === 1 ? fileName : `${stem}-${n}${ext}`);
      if (!used.has(candidate)) {
        used.add(candidate);
        return candidate;
      }
    }
  };
}

/** Downloads every variant of a finished file; returns the paths written. */
export async function downloadResults(client: ApiClient, file: FileStatus, relativeInput: string, nameOutput: (relativeInput: string, fileName: string) => string): Promise<string[]> {
  const variants = file.result?.variants?.map((v) => v.name) ?? ['default'];
  const written: string[] = [];
  for (const variant of variants) {
    const { fileName, body } = await client.download(file.jobId, variant);
    const target = nameOutput(relativeInput, fileName);
    await mkdir(path.dirname(target), { recursive: true });
    // Written beside the target and renamed, so an interrupted download never looks finished.
    const partial = `${target}.part`;
    await pipeline(body, createWriteStream(partial));
    await rename(partial, target);
    written.push(target);
  }
  return written;
}
