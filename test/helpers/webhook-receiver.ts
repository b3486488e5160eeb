import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedWebhook[];
  /** TCP connections accepted, requests or not. */
  connections(): number;
  /** What arrived at one path. */
  at(path: string): ReceivedWebhook[];
  stop(): Promise<void>;
}

/**
 * A real webhook receiver on 127.0.0.1. `answer` picks the status for the nth request (1-based)
 * to a path; the default is 204.
 */
export async function startWebhookReceiver(answer: (path: string, nth: number) => number = () => 204): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let connections = 0;
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const nth = received.filter((r) => r.path === path).length;
      res.statusCode = answer(path, nth);
      res.end(res.statusCode >= 400 ? 'x'.repeat(4000) : 'ok');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    connections: () => connections,
    at: (path) => received.filter((r) => r.path === path),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
