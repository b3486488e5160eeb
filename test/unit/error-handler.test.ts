import type { NextFunction, Request, Response } from 'express';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { MulterError } from 'multer';
import { z } from 'zod';
import { createErrorHandler, notFound, type Problem } from '../../src/api/error-handler';
import { HttpError, problems, type ProblemCode } from '../../src/api/errors';
import { QueueUnavailableError } from '../../src/queue/connection';

const limits = { maxFiles: 4, maxFileSizeBytes: 1024 };
const handler = createErrorHandler(limits);

interface Handled {
  status?: number;
  contentType?: string;
  body?: Problem;
  destroyed: boolean;
  logs: { level: 'info' | 'error'; data: unknown }[];
}

/** Runs the error handler against a recording request and response; no HTTP involved. */
function handle(err: unknown, { headersSent = false, clientGone = false } = {}): Handled {
  const out: Handled = { destroyed: false, logs: [] };
  const req = {
    originalUrl: '/process-images',
    socket: { destroyed: clientGone },
    log: {
      info: (data: unknown) => out.logs.push({ level: 'info', data }),
      error: (data: unknown) => out.logs.push({ level: 'error', data }),
    },
  } as unknown as Request;
  const res = {
    headersSent,
    status(code: number) {
      out.status = code;
      return this;
    },
    type(type: string) {
      out.contentType = type;
      return this;
    },
    set() {
      return this;
    },
    json(body: Problem) {
      // What the client would actually receive.
      out.body = JSON.parse(JSON.stringify(body)) as Problem;
      return this;
    },
    destroy() {
      out.destroyed = true;
    },
  } as unknown as Response;
  handler(err, req, res, (() => undefined) as NextFunction);
  return out;
}

const expectProblem = (out: Handled, status: number, code: ProblemCode) => {
  expect(out.contentType).toBe('application/problem+json');
  expect(out).toMatchObject({ status, body: { status, code, title: problems[code].title, instance: '/process-images' } });
  expect(out.body?.type).toBe(`urn:imgflow:problem:${code.toLowerCase().replaceAll('_', '-')}`);
  expect(typeof out.body?.detail).toBe('string');
};

describe('createErrorHandler', () => {
  const catalogue = Object.entries(problems).map(([code, { status }]) => [code as ProblemCode, status] as const);
  it.each(catalogue)('answers HttpError %s with its catalogue status %i', (code, status) => {
    const out = handle(new HttpError(code, `detail for ${code}`));
    expectProblem(out, status, code);
    expect(out.body?.detail).toBe(`detail for ${code}`);
  });

  it.each<[string, ProblemCode, number, RegExp | undefined]>([
    ['LIMIT_FILE_SIZE', 'FILE_TOO_LARGE', 413, /1024 bytes/],
    ['LIMIT_FILE_COUNT', 'TOO_MANY_FILES', 413, undefined], // the route's receiver words it with its own limit
    ['LIMIT_UNEXPECTED_FILE', 'UNEXPECTED_FIELD', 400, /'photos'/],
    ['LIMIT_PART_COUNT', 'TOO_MANY_PARTS', 413, undefined],
    ['LIMIT_FIELD_COUNT', 'TOO_MANY_PARTS', 413, undefined],
    ['LIMIT_FIELD_KEY', 'FIELD_TOO_LARGE', 413, undefined],
    ['LIMIT_FIELD_VALUE', 'FIELD_TOO_LARGE', 413, undefined],
    ['MISSING_FIELD_NAME', 'MALFORMED_MULTIPART', 400, undefined],
  ])('maps MulterError %s to %s (%i)', (multerCode, code, status, detail) => {
    const out = handle(new MulterError(multerCode as MulterError['code'], 'photos'));
    expectProblem(out, status, code);
    if (detail) expect(out.body?.detail).toMatch(detail);
  });

  it('answers a ZodError with 500 INTERNAL_ERROR: routes parse client input with parseParams/parseQuery, so one reaching here is bad server data', () => {
    const parsed = z.object({ failedAt: z.iso.datetime() }).safeParse({ failedAt: 'secret-internal-value' });
    expect(parsed.success).toBe(false);
    const out = handle(parsed.error);
    expectProblem(out, 500, 'INTERNAL_ERROR');
    expect(out.body?.detail).toBe('An unexpected error occurred; it has been logged');
    expect(JSON.stringify(out.body)).not.toMatch(/failedAt|secret-internal-value|datetime/i);
    expect(out.logs).toEqual([{ level: 'error', data: { err: parsed.error } }]);
  });

  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  it.each<[string, unknown]>([
    ['QueueUnavailableError', new QueueUnavailableError('Redis is reconnecting')],
    ["ioredis's MaxRetriesPerRequestError", new MaxRetriesPerRequestError(1)],
    ['the offline-queue error', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a closed connection', new Error('Connection is closed.')],
    ['ECONNREFUSED', refused],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])('maps %s to 503 QUEUE_UNAVAILABLE without echoing it', (_name, err) => {
    const out = handle(err);
    expectProblem(out, 503, 'QUEUE_UNAVAILABLE');
    expect(JSON.stringify(out.body)).not.toMatch(/6379|ECONN|enableOfflineQueue/);
  });

  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  it.each<[string, unknown, boolean]>([
    ["multer's 'Request aborted'", new Error('Request aborted'), false],
    ["multer's 'Request closed'", new Error('Request closed'), false],
    ["sendFile's ECONNABORTED", withCode('Request aborted', 'ECONNABORTED'), false],
    ["the request stream's 'aborted'", withCode('aborted', 'ECONNRESET'), false],
    ['an ECONNRESET once the client socket is gone', withCode('read ECONNRESET', 'ECONNRESET'), true],
  ])('maps a client abort (%s) to 400 REQUEST_ABORTED, logged at info', (_name, err, clientGone) => {
    const out = handle(err, { clientGone });
    expectProblem(out, 400, 'REQUEST_ABORTED');
    expect(out.logs).toEqual([{ level: 'info', data: { code: 'REQUEST_ABORTED', detail: out.body?.detail } }]);
  });

  it.each<[string, string]>([
    ['a truncated body', 'Unexpected end of form'],
    ['a missing boundary', 'Multipart: Boundary not found'],
    ['a bad part header', 'Malformed part header'],
  ])('maps busboy’s error for %s to 400 MALFORMED_MULTIPART', (_name, message) => {
    expectProblem(handle(new Error(message)), 400, 'MALFORMED_MULTIPART');
  });

  it.each<[string, ProblemCode, number]>([
    ['entity.parse.failed', 'INVALID_JSON', 400],
    ['entity.too.large', 'PAYLOAD_TOO_LARGE', 413],
  ])('maps body-parser’s %s to %s', (type, code, status) => {
    expectProblem(handle(Object.assign(new Error('body-parser says no'), { type })), status, code);
  });

  it.each<[string, unknown]>([
    ['an Error with internals in its message', new Error('ENOSPC writing /var/lib/imgflow/secret-path at db password hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'jobId')")],
    ['a thrown string', 'something odd'],
    ['a thrown object', { weird: true }],
  ])('answers %s with 500 INTERNAL_ERROR, a generic detail and no stack, and logs it in full', (_name, err) => {
    const out = handle(err);
    expectProblem(out, 500, 'INTERNAL_ERROR');
    expect(out.body?.detail).toBe('An unexpected error occurred; it has been logged');
    const sent = JSON.stringify(out.body);
    expect(sent).not.toMatch(/hunter2|secret-path|ENOSPC|reading 'jobId'|something odd|weird|\bat \S+:\d+/);
    expect(Object.keys(out.body ?? {}).sort()).toEqual(['code', 'detail', 'instance', 'status', 'title', 'type']);
    expect(out.logs).toEqual([{ level: 'error', data: { err } }]);
  });

  it('logs client errors at info, without the error object', () => {
    const out = handle(new HttpError('NO_FILES', 'none'));
    expect(out.logs).toEqual([{ level: 'info', data: { code: 'NO_FILES', detail: 'none' } }]);
  });

  it('destroys the response instead of writing a second one when headers were already sent', () => {
    const out = handle(new Error('failed while streaming a result'), { headersSent: true });
    expect(out.destroyed).toBe(true);
    expect(out.status).toBeUndefined();
    expect(out.body).toBeUndefined();
  });
});

describe('notFound', () => {
  it('passes a 404 ROUTE_NOT_FOUND naming the method and path to the error handler', () => {
    let passed: unknown;
    notFound({ method: 'DELETE', path: '/nowhere' } as Request, {} as Response, (err?: unknown) => {
      passed = err;
    });
    expect(passed).toBeInstanceOf(HttpError);
    expect(passed).toMatchObject({ code: 'ROUTE_NOT_FOUND', status: 404, detail: 'No route for DELETE /nowhere' });
  });
});
