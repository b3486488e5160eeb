import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { startStack, type TestStack } from '../helpers/stack';

describe('GET /readyz with a bucket endpoint that accepts connections and never answers', () => {
  let s3: S3Server;
  let silent: Server;
  const sockets = new Set<Socket>();
  let stack: TestStack;
  beforeAll(async () => {
    s3 = await startS3Server();
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    stack = await startStack({ env: { ...s3.env, S3_ENDPOINT: `http://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await stack.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await s3.stop();
  });

  it('answers 503 STORAGE_UNAVAILABLE within a few seconds instead of waiting out the SDK\'s timeouts', async () => {
    const started = Date.now();
    const res = await stack.request.get('/readyz').expect(503);
    expect(res.body.code).toBe('STORAGE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5000);
  }, 20_000);
});
