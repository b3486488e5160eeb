import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors';

/**
 * Guards operator routes with `Authorization: Bearer <token>` when a token is configured.
 * Compared in constant time so the token cannot be guessed byte by byte from response times.
 */
export function requireAdminToken(token: string | undefined): RequestHandler {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return (req, _res, next) => {
    if (!expected) return next();
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
    next(new HttpError('UNAUTHORIZED', 'This operator route needs the admin token: Authorization: Bearer <ADMIN_TOKEN>'));
  };
}
