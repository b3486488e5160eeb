import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImageServer {
  /** `http://<host>:<port>`, always a loopback address. */
  readonly base: string;
  readonly port: number;
  /** Every request seen, as `METHOD path`, with its User-Agent. */
  readonly requests: { path: string; userAgent: string | undefined }[];
  connections: number;
  close(): Promise<void>;
}

export type Route = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** A real HTTP server on a loopback address (127.0.0.1 unless told), answering from a table of paths. */
export async function startImageServer(routes: Record<string, Route>, host = '127.0.0.1'): Promise<ImageServer> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    state.requests.push({ path, userAgent: req.headers['user-agent'] });
    const route = routes[path];
    if (!route) return res.writeHead(404).end('not found');
    route(req, res, hit);
  });
  const state = { requests: [] as ImageServer['requests'], connections: 0 };
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    base: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
