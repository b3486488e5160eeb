import pino, { type Logger } from 'pino';

/** One pino logger per process; modules take it as a dependency and derive children. */
export function createLogger(options: { level: string; name: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    // Upload originals and Redis URLs can carry secrets; never let them reach a log line.
    redact: ['req.headers.authorization', 'req.headers.cookie', 'redis.url'],
  });
}
