import type { RequestHandler } from 'express';
import { bearerMatches } from '../auth/bearer';
import { HttpError } from './errors';

/** Who may call operator routes: holders of the token, or nobody. */
export type AdminAccess = { readonly mode: 'token'; readonly token: string } | { readonly mode: 'refuse' };

/**
 * Secure by default, whatever NODE_ENV says: without ADMIN_TOKEN the operator routes refuse,
 * because they list every client's batches and file names. `npm start` generates a token for
 * local use (src/launch.ts), so nobody needs them open.
 */
export function adminAccess(token: string | undefined): AdminAccess {
  return token ? { mode: 'token', token } : { mode: 'refuse' };
}

/**
 * Guards operator routes with `Authorization: Bearer <token>` according to `access`.
 * Goes through bearerMatches like the dashboard and /metrics, so the token's length does not leak either.
 */
export function requireAdminToken(access: AdminAccess): RequestHandler {
  if (access.mode === 'refuse') {
    return (_req, _res, next) => next(new HttpError('UNAUTHORIZED', 'Operator routes are disabled: set ADMIN_TOKEN (16+ characters) on the server to enable them'));
  }
  return (req, _res, next) => {
    if (bearerMatches(req.headers.authorization, access.token)) return next();
    next(new HttpError('UNAUTHORIZED', 'This operator route needs the admin token: Authorization: Bearer <ADMIN_TOKEN>'));
  };
}

/**
 * Guards the queue dashboard: the admin token as a bearer token (scripts), or as the password of
 * HTTP basic auth with any user name, which is what a browser can send. A refusal carries the
 * Basic challenge so the browser asks for it.
 */
export function requireAdminLogin(token: string): RequestHandler {
  return (req, res, next) => {
    if (bearerMatches(asBearer(req.headers.authorization), token)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="imgflow admin", charset="UTF-8"');
    next(new HttpError('UNAUTHORIZED', 'The queue dashboard needs the admin token: Authorization: Bearer <ADMIN_TOKEN>, or basic auth with any user and ADMIN_TOKEN as the password'));
  };
}

/** `Basic base64(user:password)` as `Bearer password`, so both forms go through one constant-time comparison. */
function asBearer(header: string | undefined): string | undefined {
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header ?? '')?.[1];
  if (basic === undefined) return header;
  const credentials = Buffer.from(basic, 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  return colon === -1 ? undefined : `Bearer ${credentials.slice(colon + 1)}`;
}
