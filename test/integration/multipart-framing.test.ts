import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problems, type ProblemCode } from '../../src/api/errors';
import { closeServer, listen } from '../../src/api/server';
import { fixtures } from '../fixtures/images';
import { filesIn } from '../helpers/http';
import { multipartBody, multipartType, type Part } from '../helpers/multipart-body';
import { rawRequest, type RawOutcome } from '../helpers/raw-http';
import { startStack, type TestStack } from '../helpers/stack';

const MAX_FILES = 4;
const MAX_FILE_SIZE_MB = 1;
const MB = 1024 * 1024;
const B = 'framing-boundary';
const CLOSE = Buffer.from(`--${B}--\r\n`);
// Far above anything the server needs; a request still unanswered by then is hanging.
const WAIT_MS = 15_000;
// Each request may wait out WAIT_MS plus the in-flight check when the server hangs.
jest.setTimeout(WAIT_MS + 20_000);

let stack: TestStack;
let server: Server;
let port: number;
// Read now, not in beforeAll: the case tables below are built from it when the file loads.
const jpeg = readFileSync(fixtures.smallPhotoJpeg);

beforeAll(async () => {
  stack = await startStack({ env: { MAX_FILES: String(MAX_FILES), MAX_FILE_SIZE_MB: String(MAX_FILE_SIZE_MB) } });
  // A request timeout well past WAIT_MS, so an unanswered request cannot pass as a 408.
  server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 120_000 });
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await closeServer(server, 0);
  await stack.stop();
});

const image = (n: number, data: Buffer = jpeg): Part => ({ name: 'images', filename: `p${n}.jpg`, contentType: 'image/jpeg', data });
/** Parts with their delimiters, but no close delimiter. */
const open = (...parts: Part[]) => multipartBody(B, parts).subarray(0, -CLOSE.length);

async function jobCount(): Promise<number> {
  return Object.values(await stack.api.ports.queue.getJobCounts()).reduce((a, b) => a + b, 0);
}

/** Resolves to 'idle' once no upload is in flight, or 'busy' if one is still held (a file stream that never ended). */
function inFlightSettles(): Promise<'idle' | 'busy'> {
  return Promise.race([stack.api.deps.inFlight.idle().then(() => 'idle' as const), new Promise<'busy'>((r) => setTimeout(() => r('busy'), 5000).unref())]);
}

/** Sends a request over a raw socket and checks what every outcome must have: an answer, nothing held, nothing orphaned. */
type Sent = RawOutcome & { newFiles: string[]; newJobs: number; inFlight: 'idle' | 'busy' };

async function send(headers: Record<string, string>, chunks: Iterable<Buffer>, pauseMs = 0): Promise<Sent> {
  const filesBefore = new Set(filesIn(stack.world.uploadDir));
  const jobsBefore = await jobCount();
  const outcome = await rawRequest({ port, path: '/process-images', headers: { 'Content-Type': multipartType(B), ...headers }, chunks, pauseMs, waitMs: WAIT_MS });
  const inFlight = await inFlightSettles();
  const newJobs = (await jobCount()) - jobsBefore;
  const newFiles = filesIn(stack.world.uploadDir).filter((f) => !filesBefore.has(f));
  return { ...outcome, newFiles, newJobs, inFlight };
}

function expectProblem(outcome: Sent, code: ProblemCode): void {
  expect({ status: outcome.status, code: outcome.body?.code }).toEqual({ status: problems[code].status, code });
  expect(outcome.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect({ newFiles: outcome.newFiles, newJobs: outcome.newJobs, inFlight: outcome.inFlight }).toEqual({ newFiles: [], newJobs: 0, inFlight: 'idle' });
}

const withLength = (body: Buffer) => ({ 'Content-Length': String(body.length) });

/** The body in one write, then cut inside and right after its first close delimiter. */
function splits(body: Buffer): Array<[string, Buffer[]]> {
  const close = body.indexOf(`\r\n--${B}--`);
  return [
    ['in one chunk', [body]],
    ['cut inside the first close delimiter', [body.subarray(0, close + 5), body.subarray(close + 5)]],
    ['cut right after the first close delimiter', [body.subarray(0, close + CLOSE.length), body.subarray(close + CLOSE.length)]],
  ];
}

describe('a body with more after its close delimiter (issue 15, item 1)', () => {
  const cases: Array<[string, () => Buffer]> = [
    ['the close delimiter twice, then a file part that never closes', () => Buffer.concat([open(image(1)), CLOSE, CLOSE, open(image(2))])],
    ['three file parts after the close delimiter', () => Buffer.concat([open(image(1)), CLOSE, open(image(2), image(3), image(4)), CLOSE])],
    ['the close delimiter repeated at the end', () => Buffer.concat([open(image(1)), CLOSE, CLOSE])],
    ['a close delimiter before the first part', () => Buffer.concat([CLOSE, open(image(1)), CLOSE])],
    ['a close delimiter inside a file', () => multipartBody(B, [image(1, Buffer.concat([jpeg.subarray(0, 100), Buffer.from(`\r\n--${B}--\r\n`), jpeg.subarray(100)]))])],
    ['a close delimiter glued to the next part', () => Buffer.concat([open(image(1)), Buffer.from(`--${B}--`), open(image(2)), CLOSE])],
  ];
  const table = cases.flatMap(([what, make]) => splits(make()).map(([how, chunks]) => [what, how, chunks] as const));

  it.each(table)('answers %s (%s) with 400 MALFORMED_MULTIPART, stores nothing and holds nothing', async (_what, _how, chunks) => {
    const body = Buffer.concat(chunks);
    expectProblem(await send(withLength(body), chunks, 30), 'MALFORMED_MULTIPART');
  });

  it('ignores an epilogue without a delimiter, as RFC 2046 says: the one file is accepted', async () => {
    const body = Buffer.concat([multipartBody(B, [image(1)]), Buffer.from('trailing words\r\n')]);
    const outcome = await send(withLength(body), [body]);
    expect({ status: outcome.status, files: outcome.body?.totalFiles, jobs: outcome.newJobs, inFlight: outcome.inFlight }).toEqual({ status: 202, files: 1, jobs: 1, inFlight: 'idle' });
  });

  it('leaves no stream open after nine parts following a repeated close delimiter: shutdown would not wait', async () => {
    // Within the route's body limit, so that it is the framing that is refused.
    const big = Buffer.alloc(Math.floor(0.4 * MB), 0xab);
    const body = Buffer.concat([open(image(1)), CLOSE, CLOSE, open(...Array.from({ length: 9 }, (_, i) => image(i + 2, Buffer.concat([jpeg, big]))))]);
    expectProblem(await send(withLength(body), [body]), 'MALFORMED_MULTIPART');
  });
});

/** `total` bytes of `fill`, as HTTP/1.1 chunks of 64 KB, after `head` and before `tail`. */
function* chunked(head: Buffer, total: number, tail: Buffer, fill = 0x61): Generator<Buffer> {
  const frame = (data: Buffer) => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
  // An empty chunk would end the body early.
  if (head.length) yield frame(head);
  const block = Buffer.alloc(64 * 1024, fill);
  for (let sent = 0; sent < total; sent += block.length) yield frame(block.subarray(0, Math.min(block.length, total - sent)));
  if (tail.length) yield frame(tail);
  yield Buffer.from('0\r\n\r\n');
}

describe('a body over a limit is refused as soon as the limit is crossed, and not read on (issue 15, item 5)', () => {
  // A JPEG part left open: what follows is more of the same file, and it still sniffs as a JPEG.
  const fileHead = () => open(image(1)).subarray(0, -2);
  const expectCutOff = (outcome: Sent, code: ProblemCode) => {
    expectProblem(outcome, code);
    expect(outcome.headers.connection).toBe('close');
    expect(outcome.connection).toBe('closed');
  };

  it('refuses a Content-Length over what the route can accept before reading the body', async () => {
    const outcome = await send({ 'Content-Length': String(100 * MB) }, [fileHead()]);
    expectCutOff(outcome, 'PAYLOAD_TOO_LARGE');
    expect(outcome.body.detail).toMatch(/at most \d+ bytes/);
  });

  it('answers 413 FILE_TOO_LARGE to a client that sends 1.5 MB of a 1 MB-limited file and then waits', async () => {
    const sent = Buffer.concat([fileHead(), Buffer.alloc(1.5 * MB, 0x61)]);
    expect(sent.length).toBeLessThan(3 * MB);
    expectCutOff(await send({ 'Content-Length': String(3 * MB) }, [sent]), 'FILE_TOO_LARGE');
  });

  it('stops reading a 100 MB chunked file at the file limit', async () => {
    const outcome = await send({ 'Transfer-Encoding': 'chunked' }, chunked(fileHead(), 100 * MB, CLOSE));
    expectCutOff(outcome, 'FILE_TOO_LARGE');
    expect(outcome.bytesWritten).toBeLessThan(50 * MB);
  });

  it('stops reading a 100 MB chunked preamble at the preamble bound', async () => {
    const outcome = await send({ 'Transfer-Encoding': 'chunked' }, chunked(Buffer.alloc(0), 100 * MB, multipartBody(B, [image(1)])));
    expectCutOff(outcome, 'PAYLOAD_TOO_LARGE');
    expect(outcome.bytesWritten).toBeLessThan(50 * MB);
  });

  it('refuses a 64 KB preamble before a valid part', async () => {
    const body = Buffer.concat([Buffer.alloc(64 * 1024, 0x61), Buffer.from('\r\n'), multipartBody(B, [image(1)])]);
    expectCutOff(await send(withLength(body), [body]), 'PAYLOAD_TOO_LARGE');
  });

  it('stops reading a chunked body at the route limit when no single part is over its own', async () => {
    const outcome = await send({ 'Transfer-Encoding': 'chunked' }, chunked(multipartBody(B, [image(1)]), 100 * MB, Buffer.alloc(0)));
    expectCutOff(outcome, 'PAYLOAD_TOO_LARGE');
    expect(outcome.bytesWritten).toBeLessThan(50 * MB);
  });

  it('still accepts a good upload afterwards', async () => {
    const body = multipartBody(B, [image(1), image(2)]);
    const outcome = await send(withLength(body), [body]);
    expect({ status: outcome.status, files: outcome.body?.totalFiles, inFlight: outcome.inFlight }).toEqual({ status: 202, files: 2, inFlight: 'idle' });
  });
});
