import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  readonly level: string;
  readonly name: string;
  /** `auto`: readable lines on a terminal, JSON lines otherwise (a pipe, a file, a log collector). */
  readonly format: 'auto' | 'json' | 'pretty';
}

/** One pino logger per process; modules take it as a dependency and derive children. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    name: options.name,
    level: options.level,
    // A backstop for pino-http: app.ts's req serializer keeps only id, method and url, but
    // pino-http's default one logs every header, and Authorization carries the ADMIN_TOKEN.
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  };
  const readable = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  // sync: the pretty stream writes in this thread, so the last lines before an exit are not lost.
  return readable ? pino(settings, pretty({ sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' })) : pino(settings);
}
