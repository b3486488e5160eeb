import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createResumableStore, type ResumableStore } from '../../src/api/resumable-store';
import { createLocalFileStore } from '../../src/storage/local-file-store';

const HOUR_MS = 3_600_000;

let parent: string;
let dir: string;
let store: ResumableStore;
beforeEach(async () => {
  // @tus/file-store creates its directory in the background and throws from the callback if it
  // fails. Given a directory that does not exist yet, that mkdir is done once the directory
  // appears; on an existing one it would stat it later and could race afterEach's removal.
  parent = mkdtempSync(path.join(tmpdir(), 'imgflow-resumable-'));
  dir = path.join(parent, 'store');
  store = createResumableStore({ dir, maxSizeBytes: 1024 * 1024, expiryMs: HOUR_MS }, pino({ level: 'silent' }));
  while (!existsSync(dir)) await new Promise((resolve) => setTimeout(resolve, 5));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

/** An upload as @tus/file-store keeps it: the bytes so far, and a JSON record beside them. */
function upload({ size, received, ageMs = 0, filename = 'photo.jpg' }: { size: number | undefined; received: number; ageMs?: number; filename?: string }): string {
  const id = randomUUID();
  writeFileSync(path.join(dir, id), Buffer.alloc(received, 1));
  const record = { id, size, offset: 0, metadata: { filename }, creation_date: new Date(Date.now() - ageMs).toISOString() };
  writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(record));
  return id;
}

describe('ResumableStore.finished', () => {
  it('gives a finished upload with its sanitised file name', async () => {
    const id = upload({ size: 10, received: 10, filename: '../../etc/\u202epasswd.jpg' });
    await expect(store.finished(id, undefined)).resolves.toEqual({ id, originalName: 'passwd.jpg' });
  });

  it('refuses another key\'s upload with UPLOAD_NOT_FOUND, as an unknown one', async () => {
    const id = upload({ size: 10, received: 10 });
    await expect(store.finished(id, 'bob')).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
  });

  it.each([
    ['an unknown id', () => randomUUID(), 'UPLOAD_NOT_FOUND'],
    ['a record whose bytes are gone', () => { const id = upload({ size: 10, received: 10 }); rmSync(path.join(dir, id)); return id; }, 'UPLOAD_NOT_FOUND'],
    ['an upload past its expiry', () => upload({ size: 10, received: 10, ageMs: HOUR_MS + 1000 }), 'UPLOAD_EXPIRED'],
    ['a half-sent upload', () => upload({ size: 10, received: 5 }), 'UPLOAD_INCOMPLETE'],
    ['an upload whose length was never declared', () => upload({ size: undefined, received: 5 }), 'UPLOAD_INCOMPLETE'],
  ])('refuses %s', async (_what, make, code) => {
    await expect(store.finished(make(), undefined)).rejects.toMatchObject({ code });
  });
});

describe('ResumableStore.sweep', () => {
  it('removes uploads past their expiry, finished or not, and old parts without a record; keeps recent ones', async () => {
    const expired = [upload({ size: 10, received: 4, ageMs: 2 * HOUR_MS }), upload({ size: 10, received: 10, ageMs: 2 * HOUR_MS })];
    const recent = upload({ size: 10, received: 4 });
    const stray = randomUUID(); // a crash between writing the part and its record
    writeFileSync(path.join(dir, stray), 'x');
    utimesSync(path.join(dir, stray), new Date(Date.now() - 2 * HOUR_MS), new Date(Date.now() - 2 * HOUR_MS));
    writeFileSync(path.join(dir, 'notes.txt'), 'not an upload');

    expect(await store.sweep()).toBe(3);
    expect(readdirSync(dir).sort()).toEqual([recent, `${recent}.json`, 'notes.txt'].sort());
    expect(expired.every((id) => !existsSync(path.join(dir, `${id}.json`)))).toBe(true);
  });
});

describe('LocalFileStore.importFile', () => {
  it('links the file in without copying, leaves the source, and dates it now', async () => {
    const source = path.join(dir, 'source');
    writeFileSync(source, 'image bytes');
    utimesSync(source, new Date(Date.now() - 5 * HOUR_MS), new Date(Date.now() - 5 * HOUR_MS));
    const uploads = createLocalFileStore(mkdtempSync(path.join(dir, 'uploads-')));

    await uploads.importFile('imported', source);

    expect(readFileSync(uploads.pathOf('imported'), 'utf8')).toBe('image bytes');
    expect(statSync(uploads.pathOf('imported')).ino).toBe(statSync(source).ino);
    expect(Date.now() - statSync(uploads.pathOf('imported')).mtimeMs).toBeLessThan(60_000);
    expect(existsSync(source)).toBe(true);
  });
});
