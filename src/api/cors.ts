import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * Cross-origin access for the configured origins only (a comma-separated list, or `*`); with
 * none configured no CORS header is ever sent, so browsers keep other sites out.
 */
export function corsFor(allowed: string | undefined): RequestHandler {
  const origins = (allowed ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  if (origins.length === 0) return (_req, _res, next) => next();
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id', 'Idempotency-Key', 'Imgflow-File-Count'],
    exposedHeaders: ['Location', 'X-Request-Id', 'Idempotent-Replayed', 'WWW-Authenticate', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
    maxAge: 600,
  });
}
