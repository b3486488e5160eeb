import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MulterError } from 'multer';
import { AppError } from '../core/errors';
import { isErrno } from '../errno';
import { closeAfterAnswer } from './close-early';
import { isRedisUnavailable } from '../queue/connection';
import { QuotaExceededError } from '../queue/batch-store';
import { QUOTA_RETRY_AFTER_SECONDS, queuedFilesPolicy, refusalHeaders } from './limit-headers';
import { isStorageUnavailable } from '../storage/storage-unavailable';
import { sanitizeOriginalName } from './multipart';
import { HttpError, problems, type ProblemCode } from './errors';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  instance?: string;
}

const MULTER_CODES: Record<string, ProblemCode> = {
  LIMIT_FILE_SIZE: 'FILE_TOO_LARGE',
  LIMIT_FILE_COUNT: 'TOO_MANY_FILES',
  LIMIT_UNEXPECTED_FILE: 'UNEXPECTED_FIELD',
  LIMIT_PART_COUNT: 'TOO_MANY_PARTS',
  LIMIT_FIELD_COUNT: 'TOO_MANY_PARTS',
  LIMIT_FIELD_KEY: 'FIELD_TOO_LARGE',
  LIMIT_FIELD_VALUE: 'FIELD_TOO_LARGE',
};

// multer's 'Request aborted' / 'Request closed', Node's 'aborted' on the request stream,
// raw-body's 'request aborted'; express's sendFile reports a hang-up as ECONNABORTED.
const ABORT_MESSAGES = new Set(['Request aborted', 'Request closed', 'aborted', 'request aborted']);

/** The client hung up mid-request: nothing is wrong here and nobody is left to answer. */
function isClientAbort(err: unknown, clientGone: boolean): boolean {
  if (!(err instanceof Error)) return false;
  const code = isErrno(err) ? err.code : undefined;
  if (code === 'ECONNABORTED' || ABORT_MESSAGES.has(err.message)) return true;
  // ioredis reports a dropped Redis connection with the same code (a 503), so a bare reset
  // counts as the client's only when the client's own socket is already gone.
  return code === 'ECONNRESET' && clientGone;
}

/** A string property of something thrown, if it has one: libraries decorate their errors (busboy, body-parser, our multipart session). */
function stringField(err: unknown, key: string): string | undefined {
  if (typeof err !== 'object' || err === null || !(key in err)) return undefined;
  const value: unknown = Reflect.get(err, key);
  return typeof value === 'string' ? value : undefined;
}

function toHttpError(err: unknown, limits: { maxFileSizeBytes: number }, clientGone: boolean): HttpError {
  if (err instanceof HttpError) return err;
  // A use case's refusal carries a code of the catalogue (checked at compile time).
  if (err instanceof AppError) return new HttpError(err.code, err.message, { cause: err });
  if (isClientAbort(err, clientGone)) return new HttpError('REQUEST_ABORTED', 'The client disconnected before the request completed', { cause: err });
  if (err instanceof MulterError) {
    const code = MULTER_CODES[err.code] ?? 'MALFORMED_MULTIPART';
    const detail: Partial<Record<ProblemCode, string>> = {
      FILE_TOO_LARGE: `Expected each file to be at most ${limits.maxFileSizeBytes} bytes but '${sanitizeOriginalName(stringField(err, 'filename'))}' was larger`,
      UNEXPECTED_FIELD: `Unexpected file field '${err.field ?? ''}'; send images in the documented field`,
    };
    return new HttpError(code, detail[code] ?? err.message, { cause: err });
  }
  if (err instanceof QuotaExceededError) {
    return new HttpError('QUOTA_EXCEEDED', err.message, { cause: err, headers: refusalHeaders(queuedFilesPolicy(err.max), QUOTA_RETRY_AFTER_SECONDS) });
  }
  if (isRedisUnavailable(err)) return new HttpError('QUEUE_UNAVAILABLE', 'The job queue is unreachable; try again shortly', { cause: err });
  if (isStorageUnavailable(err)) return new HttpError('STORAGE_UNAVAILABLE', 'The file storage is unreachable; nothing was stored, try again shortly', { cause: err });
  // A path parameter with a broken percent-encoding (/jobs/%E0%A4%A): the router cannot
  // decode it and throws a URIError. That is a malformed id from the client, not a fault here.
  if (err instanceof URIError) return new HttpError('INVALID_ID', 'Expected a UUID v4 in the path but received a malformed percent-encoding', { cause: err });
  const message = stringField(err, 'message');
  // busboy's parse errors ("Unexpected end of form", "Malformed part header", missing boundary).
  if (message && /multipart|boundary|unexpected end of form|malformed part/i.test(message)) {
    return new HttpError('MALFORMED_MULTIPART', message, { cause: err });
  }
  // body-parser errors on JSON routes.
  const type = stringField(err, 'type');
  if (type === 'entity.parse.failed') return new HttpError('INVALID_JSON', 'The request body is not valid JSON', { cause: err });
  if (type === 'entity.too.large') return new HttpError('PAYLOAD_TOO_LARGE', 'The request body is too large', { cause: err });
  return new HttpError('INTERNAL_ERROR', 'An unexpected error occurred; it has been logged', { cause: err });
}

export function problemBody(err: HttpError, instance?: string): Problem {
  return {
    type: `urn:imgflow:problem:${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: problems[err.code].title,
    status: err.status,
    detail: err.detail,
    code: err.code,
    ...(instance ? { instance } : {}),
  };
}

/**
 * The only place an error becomes a response: application/problem+json, never a stack trace.
 * `onProblem` hears every code answered (the refusals metric), so no route counts its own.
 */
export function createErrorHandler(limits: { maxFileSizeBytes: number }, onProblem: (code: ProblemCode) => void = () => undefined): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err, limits, req.socket?.destroyed === true);
    onProblem(httpError.code);
    if (httpError.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: httpError.code, detail: httpError.detail }, 'request rejected');
    if (res.headersSent) return res.destroy();
    // Answered before the body was read in full: close the connection, or Node would read the
    // rest of the body (up to its whole length) just to keep the connection alive.
    if (!req.complete) closeAfterAnswer(req, res);
    res.set(httpError.headers);
    res.status(httpError.status).type('application/problem+json').json(problemBody(httpError, req.originalUrl));
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError('ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}`));
};
