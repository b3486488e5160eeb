import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { bearerMatches } from '../auth/bearer';

export interface MetricsServerOptions {
  readonly host: string;
  readonly port: number;
  /** When set, a scrape needs `Authorization: Bearer <token>`. */
  readonly token?: string | undefined;
}

export interface MetricsServer {
  /** The bound port (the one asked for, or the one the OS chose for 0). */
  readonly port: number;
  close(): Promise<void>;
}

// The worker has no Express app and no error catalogue: these are the API's problem+json bodies
// for the same two cases, so a scraper sees one shape from either process.
const problem = (status: number, code: string, title: string, detail: string) =>
  JSON.stringify({ type: `urn:imgflow:problem:${code.toLowerCase().replaceAll('_', '-')}`, title, status, detail, code, instance: '/metrics' });

/**
 * Serves `registry` at GET /metrics on a tiny server of its own: a process without an HTTP API
 * (the worker) can be scraped without one. Rejects with a message naming the address when the
 * port is taken.
 */
export function startMetricsServer(registry: Registry, options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const answer = (status: number, type: string, body: string) => res.writeHead(status, { 'Content-Type': type }).end(body);
    const url = new URL(req.url ?? '/', 'http://metrics');
    if (url.pathname !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return answer(404, 'application/problem+json', problem(404, 'ROUTE_NOT_FOUND', 'Not found', 'This server answers GET /metrics only'));
    }
    if (options.token !== undefined && !bearerMatches(req.headers.authorization, options.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return answer(401, 'application/problem+json', problem(401, 'UNAUTHENTICATED', 'Missing or wrong credentials', 'Scraping needs Authorization: Bearer <METRICS_TOKEN>'));
    }
    registry.metrics().then(
      (text) => answer(200, registry.contentType, text),
      () => answer(500, 'application/problem+json', problem(500, 'INTERNAL_ERROR', 'Internal server error', 'Collecting the metrics failed')),
    );
  });
  // A scrape is one short request; nothing should hold the shutdown.
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const busy = err.code === 'EADDRINUSE';
      reject(busy ? new Error(`WORKER_METRICS_PORT ${options.port} on ${options.host} is already in use: choose another port, or 0 to serve no metrics`, { cause: err }) : err);
    });
    server.listen(options.port, options.host, () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : options.port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
