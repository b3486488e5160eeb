import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '../config';
import { HttpError } from './errors';

/** Who may call operator routes: holders of the token, everyone, or nobody. */
export type AdminAccess = { readonly mode: 'token'; readonly token: string } | { readonly mode: 'open' } | { readonly mode: 'refuse' };

/**
 * Secure by default: without ADMIN_TOKEN a production server refuses operator routes rather
 * than opening them to every client; development and tests stay open (main.ts warns).
 */
export function adminAccess(token: string | undefined, env: Config['env']): AdminAccess {
  if (token) return { mode: 'token', token };
  return env === 'production' ? { mode: 'refuse' } : { mode: 'open' };
}

/**
 * Guards operator routes with `Authorization: Bearer <token>` according to `access`.
 * Compared in constant time so the token cannot be guessed byte by byte from response times.
 */
export function requireAdminToken(access: AdminAccess): RequestHandler {
  if (access.mode === 'open') return (_req, _res, next) => next();
  if (access.mode === 'refuse') {
    return (_req, _res, next) => next(new HttpError('UNAUTHORIZED', 'Operator routes are disabled in production: set ADMIN_TOKEN (16+ characters) on the server to enable them'));
  }
  const expected = Buffer.from(`Bearer ${access.token}`);
  return (req, _res, next) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    next(new HttpError('UNAUTHORIZED', 'This operator route needs the admin token: Authorization: Bearer <ADMIN_TOKEN>'));
  };
}
