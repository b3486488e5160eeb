import { createServer, connect, type Socket } from 'node:net';

export interface CuttingProxy {
  readonly port: number;
  /** Bytes sent from clients towards the server so far. */
  upstreamBytes(): number;
  /** Whether the cut has happened. */
  cut(): boolean;
  stop(): Promise<void>;
}

/**
 * A TCP proxy to 127.0.0.1:`targetPort` that, once, destroys the connection carrying the client
 * past `cutAfterBytes` (counted over every connection), both ways, mid-request: a network that
 * drops half-way through an upload. Later connections pass through untouched.
 */
export function startCuttingProxy(targetPort: number, cutAfterBytes: number): Promise<CuttingProxy> {
  let upstream = 0;
  let done = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const target = connect(targetPort, '127.0.0.1');
    for (const s of [client, target]) {
      sockets.add(s);
      s.on('error', () => undefined); // a cut connection resets: expected here
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => {
      if (done || upstream + chunk.length <= cutAfterBytes) {
        upstream += chunk.length;
        target.write(chunk);
        return;
      }
      const keep = cutAfterBytes - upstream;
      upstream += keep;
      done = true;
      // A FIN, not a reset, towards the server: a reset could discard bytes it has not read yet.
      target.end(chunk.subarray(0, keep));
      client.destroy();
    });
    target.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => target.end());
    target.on('end', () => client.end());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
      resolve({
        port: address.port,
        upstreamBytes: () => upstream,
        cut: () => done,
        stop: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
