import pino, { type Logger } from 'pino';

/** One pino logger per process; modules take it as a dependency and derive children. */
export function createLogger(options: { level: string; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    // A backstop for pino-http: app.ts's req serializer keeps only id, method and url, but
    // pino-http's default one logs every header, and Authorization carries the ADMIN_TOKEN.
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  });
}
