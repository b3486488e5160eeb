import type { Server } from 'node:http';
import type { Express } from 'express';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly requestTimeoutMs: number;
}

/** Starts listening; resolves once the port is bound. */
export function listen(app: Express, options: HttpOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port, options.host, (err?: Error) => (err ? reject(err) : resolve(server)));
    // A client trickling bytes cannot hold a connection, and an upload slot, forever.
    server.requestTimeout = options.requestTimeoutMs;
    server.headersTimeout = Math.min(options.requestTimeoutMs, 20_000);
  });
}

/**
 * Stops accepting connections and lets requests in flight finish for up to `drainMs`; then
 * closes what is left, so a slow upload fails cleanly (its partial files are removed) instead
 * of holding the shutdown past its deadline.
 */
export function closeServer(server: Server, drainMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), drainMs).unref();
  });
}
