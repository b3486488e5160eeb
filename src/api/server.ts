import { createServer, type Server } from 'node:http';
import type { Express } from 'express';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly requestTimeoutMs: number;
}

/** Starts listening; resolves once the port is bound. */
export function listen(app: Express, options: HttpOptions): Promise<Server> {
  // A client trickling bytes cannot hold a connection, and an upload slot, forever. Node checks
  // these timeouts every 30 s by default; checking each second keeps them close to what is set.
  const server = createServer(
    {
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: Math.min(options.requestTimeoutMs, 20_000),
      connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
    },
    app,
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve(server);
    });
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
