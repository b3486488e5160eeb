import type { RequestHandler } from 'express';

/**
 * Cross-origin access for the configured origins only (a comma-separated list, or `*`); with
 * none configured no CORS header is ever sent, so browsers keep other sites out.
 */
export function cors(allowed: string | undefined): RequestHandler {
  const origins = (allowed ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origins.length === 0 || !origin) return next();
    res.vary('Origin');
    if (!origins.includes('*') && !origins.includes(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
    res.setHeader('Access-Control-Expose-Headers', 'Location, X-Request-Id');
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Request-Id');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
