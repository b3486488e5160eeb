import cors from 'cors';
import type { RequestHandler } from 'express';
import { API_KEY_HEADER } from './api-key-auth';
import { FILE_COUNT_HEADER } from './routes/uploads';

/**
 * Cross-origin access for the configured origins only (a comma-separated list, or `*`); with
 * none configured no CORS header is ever sent, so browsers keep other sites out.
 */
export function corsFor(allowed: string | undefined): RequestHandler {
  const origins = (allowed ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  if (origins.length === 0) return (_req, _res, next) => next();
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    // PATCH, HEAD, DELETE and the Tus-/Upload- headers: the tus endpoint (/uploads/tus), whose clients read its offsets.
    methods: ['GET', 'POST', 'HEAD', 'PATCH', 'DELETE'],
    allowedHeaders: ['Content-Type', 'Authorization', API_KEY_HEADER, 'X-Request-Id', 'Idempotency-Key', FILE_COUNT_HEADER, 'Tus-Resumable', 'Upload-Length', 'Upload-Offset', 'Upload-Metadata', 'Upload-Defer-Length', 'Upload-Concat', 'X-HTTP-Method-Override'],
    exposedHeaders: ['Location', 'X-Request-Id', 'Idempotent-Replayed', 'WWW-Authenticate', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata', 'Upload-Defer-Length', 'Upload-Expires'],
    maxAge: 600,
  });
}
