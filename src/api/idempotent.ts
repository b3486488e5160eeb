import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { callerOf } from './api-key-auth';
import { closeAfterAnswer } from './close-early';
import { HttpError } from './errors';
import type { IdempotencyStore, StoredResponse } from './idempotency-store';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** 1–255 printable ASCII characters, as Stripe and the IETF draft's examples use. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

const documentedKey = z.string().min(1).max(255).optional().meta({
  description: 'Any 1–255 printable ASCII characters (a UUID is a good choice). For 24 h, the same key on the same route (for a completion, of the same upload) answers with the first response (status, body, `Location`) and `Idempotent-Replayed: true`, creating nothing and without reading the body. 409 IDEMPOTENCY_IN_PROGRESS while the first request is still running; a first request that failed (4xx/5xx) does not keep the key.',
});

/** The request header and the replay's response header, as every route that takes a key documents them. */
export const IDEMPOTENCY_DOC = {
  key: documentedKey,
  /** The request headers of a route whose only documented header is the key. */
  headers: z.object({ [IDEMPOTENCY_KEY_HEADER]: documentedKey }),
  replayed: { [REPLAYED_HEADER]: { description: '`true` when this is the stored first response to a repeated Idempotency-Key', schema: { type: 'string' as const, enum: ['true'] } } },
};

/** The request's Idempotency-Key, undefined when it sent none; a malformed or repeated one is refused. */
function idempotencyKeyOf(req: Request): string | undefined {
  const values = req.headersDistinct[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (values === undefined) return undefined;
  const [key] = values;
  if (values.length !== 1 || key === undefined || !IDEMPOTENCY_KEY.test(key)) {
    const received = values.length !== 1 ? `${values.length} headers` : `${key?.length ?? 0} characters${/[^\x20-\x7e]/.test(key ?? '') ? ', not all printable ASCII' : ''}`;
    throw new HttpError('INVALID_IDEMPOTENCY_KEY', `Expected one ${IDEMPOTENCY_KEY_HEADER} header of 1–255 printable ASCII characters but received ${received}`);
  }
  return key;
}

/**
 * Where a key is unique: the route with its parameters (a completion's upload: one key may complete
 * several), and the API key, so clients never see each other's replays.
 */
export function idempotencyScope(req: Request, res: Response): string {
  const params = Object.entries(req.params).map(([name, value]) => ` ${name}=${String(value)}`).join('');
  const route = `${req.method} ${req.baseUrl}${String(req.route?.path ?? req.path)}${params}`;
  const owner = callerOf(res);
  return owner === undefined ? route : `${owner} ${route}`;
}

function send(res: Response, { status, location, body }: StoredResponse): void {
  if (location !== undefined) res.location(location);
  res.status(status).json(body);
}

/**
 * Runs `handle` at most once per Idempotency-Key and scope, for the store's replay lifetime. The
 * key is checked before the body is read: a replay (`Idempotent-Replayed: true`) or a 409 for a
 * request still in flight is answered without reading or storing the files, and closes the
 * connection rather than read the rest. A request that fails gives its key up again.
 */
export function idempotent(store: IdempotencyStore | undefined, handle: (req: Request, res: Response) => Promise<StoredResponse>): RequestHandler {
  return async (req, res) => {
    const key = store && idempotencyKeyOf(req);
    if (!store || key === undefined) return send(res, await handle(req, res));
    const scope = idempotencyScope(req, res);
    const claim = await store.claim(scope, key);
    if (claim.kind === 'in-progress') {
      throw new HttpError('IDEMPOTENCY_IN_PROGRESS', `A request with this ${IDEMPOTENCY_KEY_HEADER} is still being processed; retry once it has been answered`);
    }
    if (claim.kind === 'replay') {
      if (!req.complete) closeAfterAnswer(req, res);
      res.set(REPLAYED_HEADER, 'true');
      return send(res, claim.response);
    }
    let response: StoredResponse;
    try {
      response = await handle(req, res);
    } catch (err) {
      await store.release(scope, key, claim.token).catch((e: unknown) => req.log.warn({ err: e }, 'could not release idempotency key; it expires with its claim'));
      throw err;
    }
    // The batch exists whatever happens here: answer it even if the response could not be stored.
    await store.complete(scope, key, claim.token, response).catch((e: unknown) => req.log.warn({ err: e }, 'could not store idempotent response'));
    send(res, response);
  };
}
