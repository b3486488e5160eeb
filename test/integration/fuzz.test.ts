import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import supertest from 'supertest';
import { closeServer, listen } from '../../src/api/server';
import { fixtures } from '../fixtures/images';
import { jpegHeaderThenHtml, validGifJsPolyglot } from '../fixtures/hostile-files';
import { pngBomb } from '../fixtures/png-bomb';
import { multipartBody, multipartType } from '../helpers/multipart-body';
import { rawRequest } from '../helpers/raw-http';
import { startStack, type TestStack } from '../helpers/stack';

// Reproduce a failure with FUZZ_SEED=<seed from the test name>, and one case with FUZZ_CASE=<n>.
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
const ONLY_CASE = process.env.FUZZ_CASE === undefined ? undefined : Number(process.env.FUZZ_CASE);
const MAX_CASES = Number(process.env.FUZZ_MAX ?? 3000);
const MAX_MS = 60_000;
const MIN_CASES = 300;
const LANES = 4;
const REQUEST_TIMEOUT_MS = 15_000;

/** mulberry32: a tiny seeded PRNG, so every case can be rebuilt from (seed, case number). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(0, 255)));
  }
}

// Byte strings that mean something to a multipart parser.
const TOKENS = ['\r\n', '\r\n\r\n', '--', '"', ';', '=', '\0', 'Content-Disposition: form-data; name="images"; filename="x.jpg"\r\n', 'Content-Type: image/png\r\n', 'filename*=UTF-8\'\'%E2%80%AE', ':'];

/** Bit flips, truncation, overwritten runs, inserted junk: the damage a file meets on the way. */
function mutateImage(dice: Dice, image: Buffer): Buffer {
  const out = Buffer.from(image);
  switch (dice.int(0, 3)) {
    case 0:
      for (let i = dice.int(1, 20); i > 0; i--) {
        const at = dice.int(0, out.length - 1);
        out[at] = (out[at] as number) ^ (1 << dice.int(0, 7));
      }
      return out;
    case 1:
      return out.subarray(0, dice.int(0, out.length));
    case 2: {
      const at = dice.int(0, out.length - 1);
      dice.bytes(Math.min(dice.int(1, 64), out.length - at)).copy(out, at);
      return out;
    }
    default: {
      const at = dice.int(0, out.length);
      return Buffer.concat([out.subarray(0, at), dice.bytes(dice.int(1, 64)), out.subarray(at)]);
    }
  }
}

/** Where to hit a multipart body: mostly its headers and boundaries, sometimes anywhere. */
function target(dice: Dice, body: Buffer, boundary: string): number {
  const roll = dice.next();
  if (roll < 0.3) return dice.int(0, Math.min(body.length, 300));
  if (roll < 0.7) {
    const marks: number[] = [];
    for (let at = body.indexOf(boundary); at !== -1; at = body.indexOf(boundary, at + 1)) marks.push(at);
    const mark = marks.length ? dice.pick(marks) : 0;
    return Math.max(0, Math.min(body.length, mark + dice.int(-8, boundary.length + 120)));
  }
  return dice.int(0, body.length);
}

function mutateBody(dice: Dice, body: Buffer, boundary: string): Buffer {
  let out = body;
  for (let i = dice.int(1, 6); i > 0; i--) {
    const at = target(dice, out, boundary);
    const cut = (start: number, end: number, insert: Buffer) => Buffer.concat([out.subarray(0, start), insert, out.subarray(end)]);
    switch (dice.int(0, 4)) {
      case 0: {
        const flipped = Buffer.from(out);
        if (at < flipped.length) flipped[at] = (flipped[at] as number) ^ (1 << dice.int(0, 7));
        out = flipped;
        break;
      }
      case 1:
        out = cut(at, at, dice.bytes(dice.int(1, 8)));
        break;
      case 2:
        out = cut(at, Math.min(out.length, at + dice.int(1, 32)), Buffer.alloc(0));
        break;
      case 3:
        out = cut(at, at, Buffer.from(dice.pick([...TOKENS, `--${boundary}`, `--${boundary}--`]), 'latin1'));
        break;
      default:
        out = cut(at, at, out.subarray(at, Math.min(out.length, at + dice.int(1, 200))));
    }
  }
  return out;
}

function contentType(dice: Dice, boundary: string): string {
  if (!dice.chance(0.1)) return multipartType(boundary);
  return dice.pick([
    'multipart/form-data',
    `multipart/form-data; boundary=${boundary.slice(0, -1)}`,
    `multipart/form-data; boundary="${boundary}"; charset=utf-16`,
    `multipart/form-data; boundary=${boundary}; boundary=other`,
    `multipart/mixed; boundary=${boundary}`,
    `text/plain; boundary=${boundary}`,
    'application/octet-stream',
  ]);
}

/** A small image of seeded noise: generateImage's noise differs per run, which would make cases irreproducible. */
function noiseImage(format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff'): Promise<Buffer> {
  const [width, height] = [40, 30];
  const pixels = new Dice(mulberry32(0xf00d)).bytes(width * height * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

interface FuzzCase {
  readonly route: '/process-images' | '/upload';
  readonly contentType: string;
  readonly body: Buffer;
}

function buildCase(index: number, corpus: readonly Buffer[]): FuzzCase {
  const dice = new Dice(mulberry32(SEED ^ Math.imul(index + 1, 0x9e3779b1)));
  const route = dice.chance(0.7) ? '/process-images' : '/upload';
  const field = dice.chance(0.92) ? (route === '/upload' ? 'media' : 'images') : dice.pick(['image', 'media', 'images', '']);
  const boundary = `fuzz${dice.int(0, 1e9)}`;
  const files = Array.from({ length: route === '/upload' ? dice.int(1, 2) : dice.int(1, 3) }, () => {
    const image = dice.pick(corpus);
    return { name: field, filename: `f${dice.int(0, 99)}.jpg`, contentType: 'image/jpeg', data: dice.chance(0.5) ? mutateImage(dice, image) : image };
  });
  const body = multipartBody(boundary, files);
  return { route, contentType: contentType(dice, boundary), body: dice.chance(0.6) ? mutateBody(dice, body, boundary) : body };
}

const FAMILY_CASES = Number(process.env.FUZZ_FAMILY_MAX ?? 120);
const FAMILY_MS = 30_000;

interface FramedCase extends FuzzCase {
  /** Cut points: the body is written as separate chunks at them. */
  readonly cuts: number[];
  /** File parts before the first close delimiter: at most these may be accepted. */
  readonly partsBeforeClose: number;
}

/**
 * Close delimiters where they do not belong (repeated, trailing, before the first part, inside a
 * file, glued to the next part), written in chunks cut mostly around them.
 */
function buildFramedCase(index: number, corpus: readonly Buffer[]): FramedCase {
  const dice = new Dice(mulberry32((SEED ^ 0xc105e) ^ Math.imul(index + 1, 0x9e3779b1)));
  const route = dice.chance(0.7) ? '/process-images' : '/upload';
  const boundary = `close${dice.int(0, 1e9)}`;
  const close = `--${boundary}--`;
  const pieces = Array.from({ length: dice.int(1, 3) }, () =>
    multipartBody(boundary, [{ name: route === '/upload' ? 'media' : 'images', filename: 'f.jpg', contentType: 'image/jpeg', data: dice.pick(corpus) }]).subarray(0, -(close.length + 2)),
  );
  // Insert 1-3 close delimiters between the parts or inside one, each followed by CR LF, or not.
  for (let i = dice.int(1, 3); i > 0; i--) {
    const mark = Buffer.from(`${close}${dice.chance(0.7) ? '\r\n' : ''}`);
    const at = dice.int(0, pieces.length);
    if (dice.chance(0.25) && pieces[at]) {
      const piece = pieces[at] as Buffer;
      const offset = dice.int(piece.indexOf('\r\n\r\n') + 4, piece.length - 2);
      pieces[at] = Buffer.concat([piece.subarray(0, offset), Buffer.from('\r\n'), mark, piece.subarray(offset)]);
    } else pieces.splice(at, 0, mark);
  }
  if (dice.chance(0.5)) pieces.push(Buffer.from(`${close}\r\n`));
  const body = Buffer.concat(pieces);
  const firstClose = Buffer.concat([Buffer.from('\r\n'), body]).indexOf(`\r\n${close}`);
  const before = body.subarray(0, firstClose === -1 ? body.length : firstClose);
  const partsBeforeClose = before.toString('latin1').split(`--${boundary}\r\nContent-Disposition`).length - 1;
  const marks: number[] = [];
  for (let at = body.indexOf(close); at !== -1; at = body.indexOf(close, at + 1)) marks.push(at);
  const cuts = Array.from({ length: dice.int(0, 3) }, () => (dice.chance(0.8) && marks.length ? Math.max(0, dice.pick(marks) + dice.int(-3, close.length + 3)) : dice.int(0, body.length)));
  return { route, contentType: multipartType(boundary), body, cuts: [...new Set(cuts)].filter((c) => c > 0 && c < body.length).sort((a, b) => a - b), partsBeforeClose };
}

const chunksAt = (body: Buffer, cuts: readonly number[]) => [0, ...cuts].map((from, i) => body.subarray(from, cuts[i] ?? body.length));

describe('fuzzing the upload routes', () => {
  let stack: TestStack;
  let server: Server;
  let corpus: Buffer[];

  beforeAll(async () => {
    // No worker: accepted files stay in uploads/, so files on disk can be matched to jobs exactly.
    stack = await startStack();
    server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 10_000 });
    corpus = [
      ...(await Promise.all((['jpeg', 'png', 'webp', 'gif', 'tiff'] as const).map((format) => noiseImage(format)))),
      ...[fixtures.smallPhotoJpeg, fixtures.grey16AlphaPng, fixtures.animatedWebp, fixtures.truncatedJpeg, fixtures.corruptHeaderJpeg].map((f) => readFileSync(f)),
      pngBomb(11_000, 11_000),
      jpegHeaderThenHtml(),
      validGifJsPolyglot(),
    ];
  });
  afterAll(async () => {
    await closeServer(server, 0);
    await stack.stop();
  });

  // Bounded by MAX_CASES and MAX_MS; the jest timeout leaves room for set-up and the final checks.
  it(`never answers 5xx (but 503), never hangs and leaves no orphan file (seed ${SEED})`, async () => {
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const started = Date.now();
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const acceptedJobIds: string[] = [];
    let nextCase = ONLY_CASE ?? 0;
    const lastCase = ONLY_CASE ?? MAX_CASES - 1;
    let ran = 0;

    const runLane = async () => {
      while (nextCase <= lastCase && Date.now() - started < MAX_MS) {
        const index = nextCase++;
        const fuzz = buildCase(index, corpus);
        const where = `case ${index} (${fuzz.route}, ${fuzz.body.length} bytes, ${fuzz.contentType})`;
        try {
          const res = await supertest(baseUrl)
            .post(fuzz.route)
            .set('Content-Type', fuzz.contentType)
            .timeout({ response: REQUEST_TIMEOUT_MS, deadline: REQUEST_TIMEOUT_MS })
            .send(fuzz.body)
            .ok(() => true);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status === 202) acceptedJobIds.push(...(res.body.jobs?.map((j: { jobId: string }) => j.jobId) ?? [res.body.jobId]));
          else if (res.status < 400 || (res.status >= 500 && res.status !== 503)) failures.push(`${where}: status ${res.status} ${res.text.slice(0, 200)}`);
          else if (!/^application\/problem\+json/.test(res.headers['content-type'] ?? '') || typeof res.body.code !== 'string') {
            failures.push(`${where}: ${res.status} without a problem+json code: ${res.headers['content-type']} ${res.text.slice(0, 200)}`);
          }
        } catch (err) {
          failures.push(`${where}: no answer (${(err as Error).message})`);
        }
        ran++;
      }
    };
    await Promise.all(Array.from({ length: LANES }, runLane));

    const stored = await Promise.all(acceptedJobIds.map(async (id) => (await stack.api.ports.queue.getJob(id))?.data.inputFile));
    const onDisk = readdirSync(stack.world.uploadDir).filter((f) => !f.startsWith('.'));
    const summary = { seed: SEED, ran, seconds: (Date.now() - started) / 1000, statuses: Object.fromEntries([...statuses].sort()), acceptedFiles: acceptedJobIds.length, filesOnDisk: onDisk.length };
    console.log(`fuzz: ${JSON.stringify(summary)}`); // the figures the issue asks for

    expect(failures.slice(0, 10)).toEqual([]);
    expect(ran).toBeGreaterThanOrEqual(ONLY_CASE === undefined ? MIN_CASES : 1);
    await supertest(baseUrl).get('/healthz').expect(200);
    expect(onDisk.sort()).toEqual([...stored].sort());
  }, MAX_MS + 60_000);

  // Issue 15, item 1: busboy parsed on after a close delimiter and could wait forever on a file
  // stream it never ended. Every case must be answered, accept no part after the first close
  // delimiter, and leave nothing held (in flight) or on disk.
  it(`answers every misplaced close delimiter, accepts no part after it and holds nothing (seed ${SEED})`, async () => {
    const port = (server.address() as AddressInfo).port;
    const started = Date.now();
    const failures: string[] = [];
    const acceptedJobIds: string[] = [];
    const statuses = new Map<number | string, number>();
    let nextCase = 0;
    const runLane = async () => {
      while (nextCase < FAMILY_CASES && Date.now() - started < FAMILY_MS) {
        const index = nextCase++;
        const framed = buildFramedCase(index, corpus);
        const where = `close-delimiter case ${index} (${framed.route}, ${framed.body.length} bytes, cut at ${framed.cuts.join(',') || 'nowhere'})`;
        const res = await rawRequest({
          port,
          path: framed.route,
          headers: { 'Content-Type': framed.contentType, 'Content-Length': String(framed.body.length) },
          chunks: chunksAt(framed.body, framed.cuts),
          pauseMs: 5,
          waitMs: REQUEST_TIMEOUT_MS,
        });
        statuses.set(res.status ?? 'none', (statuses.get(res.status ?? 'none') ?? 0) + 1);
        if (res.status === 202) {
          const ids: string[] = res.body.jobs?.map((j: { jobId: string }) => j.jobId) ?? [res.body.jobId];
          acceptedJobIds.push(...ids);
          if (ids.length > framed.partsBeforeClose) failures.push(`${where}: accepted ${ids.length} files, only ${framed.partsBeforeClose} before the close delimiter`);
        } else if (res.status === undefined || res.status === 408 || res.status < 400 || res.status >= 500) failures.push(`${where}: status ${res.status ?? 'none (hung)'}`);
        else if (!/^application\/problem\+json/.test(res.headers['content-type'] ?? '')) failures.push(`${where}: ${res.status} without problem+json`);
      }
    };
    const filesBefore = new Set(readdirSync(stack.world.uploadDir));
    await Promise.all(Array.from({ length: LANES }, runLane));
    const held = await Promise.race([stack.api.deps.inFlight.idle().then(() => 'idle'), new Promise((r) => setTimeout(() => r('busy'), 5000).unref())]);

    const stored = await Promise.all(acceptedJobIds.map(async (id) => (await stack.api.ports.queue.getJob(id))?.data.inputFile));
    const newFiles = readdirSync(stack.world.uploadDir).filter((f) => !f.startsWith('.') && !filesBefore.has(f));
    console.log(`fuzz close delimiters: ${JSON.stringify({ seed: SEED, ran: nextCase, statuses: Object.fromEntries(statuses) })}`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(nextCase).toBeGreaterThanOrEqual(Math.min(FAMILY_CASES, 30));
    expect(held).toBe('idle');
    expect(newFiles.sort()).toEqual([...stored].sort());
  }, FAMILY_MS + 30_000);

  // Found by this fuzzer: when a body ends inside a file part, the part's stream fails while
  // its file is still being opened, and the clean-up could run before the open (both go to
  // libuv's thread pool), leaving an empty file. The race is lost between 1 in 2000 and 1 in
  // 150 tries depending on load; without the fix this test failed in 6 runs out of 6.
  it('leaves no empty file behind when a body ends inside a file part, 2000 times over', async () => {
    const body = multipartBody('cut', [{ name: 'images', filename: 'a.jpg', contentType: 'image/jpeg', data: corpus[0] as Buffer }]).subarray(0, -10);
    const request = supertest(server);
    const before = readdirSync(stack.world.uploadDir).length;
    for (let i = 0; i < 2000; i++) {
      const res = await request.post('/process-images').set('Content-Type', multipartType('cut')).send(body);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'MALFORMED_MULTIPART' });
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // let a late open land, if one is coming
    expect(readdirSync(stack.world.uploadDir).length - before).toBe(0);
  }, 30_000); // 2000 requests take 3-7 s here; room for a loaded machine
});
