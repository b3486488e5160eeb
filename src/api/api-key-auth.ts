import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { hashApiKey, type ApiKeyEntry } from '../api-keys';
import type { Submitter } from '../core/imgflow';
import { HttpError } from './errors';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** The id of the API key the request authenticated with; absent when the server has no keys. */
      apiKeyId?: string;
    }
  }
}

export const API_KEY_HEADER = 'X-API-Key';

/**
 * What needs no API key: probes, the API's own documentation, the page that asks for a key, and
 * /metrics, which has its own credential (METRICS_TOKEN) that a scraper is configured with.
 */
export function isPublic(req: Request): boolean {
  const { path } = req;
  if (path === '/healthz' || path === '/readyz' || path === '/metrics' || path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/')) return true;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return path === '/' || /^\/b\/[0-9a-f-]{36}$/.test(path) || path.startsWith('/web/');
}

/** The one route a browser's EventSource calls, and it can send no headers: there the key may come as `?access_token=`. */
const EVENTS_PATH = /^\/batches\/[0-9a-f-]{36}\/events$/;

/**
 * The key a request presents: X-API-Key first, so a client can send it beside an admin token in
 * Authorization; then a bearer token; on the events route, `access_token` (RFC 6750's query form).
 */
function presentedKey(req: Request): string | undefined {
  const header = req.get(API_KEY_HEADER);
  if (header) return header;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.get('Authorization') ?? '');
  if (bearer?.[1]) return bearer[1];
  const token = req.method === 'GET' && EVENTS_PATH.test(req.path) ? req.query.access_token : undefined;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/** A request URL fit for a log line: an access_token's value replaced. */
export function redactAccessToken(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}

/** The owner of what this request creates and the only one who may read it back; undefined when the server has no keys. */
export function callerOf(res: Response): string | undefined {
  return res.locals.apiKeyId;
}

/** Who submits a batch: its owner, and the address that holds the quotas when the server has no keys. */
export function submitterOf(req: Request, res: Response): Submitter {
  return { owner: callerOf(res), address: req.ip ?? req.socket.remoteAddress ?? 'unknown' };
}

/**
 * With keys configured, every route but the public ones needs one: 401 UNAUTHENTICATED and
 * `WWW-Authenticate: Bearer` otherwise. The presented key is hashed and compared with every
 * configured hash in constant time, so neither the key nor which entry it is close to leaks
 * through response times. Without keys, every request passes and has no owner.
 */
export function apiKeyAuth(keys: readonly ApiKeyEntry[]): RequestHandler {
  if (keys.length === 0) return (_req, _res, next) => next();
  const hashes = keys.map((k) => ({ id: k.id, sha256: Buffer.from(k.sha256, 'hex') }));
  return (req, res, next) => {
    if (isPublic(req)) return next();
    const key = presentedKey(req);
    if (key === undefined) {
      const headers = { 'WWW-Authenticate': 'Bearer realm="imgflow"' };
      return next(new HttpError('UNAUTHENTICATED', `This server needs an API key: send Authorization: Bearer <key> or ${API_KEY_HEADER}: <key>`, { headers }));
    }
    const given = Buffer.from(hashApiKey(key), 'hex');
    let match: string | undefined;
    for (const entry of hashes) if (timingSafeEqual(given, entry.sha256) && match === undefined) match = entry.id;
    if (match === undefined) {
      const headers = { 'WWW-Authenticate': 'Bearer realm="imgflow", error="invalid_token"' };
      return next(new HttpError('UNAUTHENTICATED', 'The API key is not one this server knows', { headers }));
    }
    res.locals.apiKeyId = match;
    req.log.setBindings({ apiKeyId: match });
    next();
  };
}
