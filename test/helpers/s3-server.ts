import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import S3rver from 's3rver';
import { freePort, removeDir } from './redis';

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly bucket: string;
  /** STORAGE_DRIVER=s3 and the S3_* settings that reach this server's bucket. */
  readonly env: Record<string, string>;
  /** Every request it has answered, in that order: what clients really sent, and its status. */
  readonly answered: readonly AnsweredRequest[];
  /** Stops answering; the bucket's objects stay on disk for `start`. */
  pause(): Promise<void>;
  /** Serves again on the same port, with the same objects. */
  resume(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

export interface AnsweredRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly status: number;
}

/** s3rver's HTTP server, which its types do not expose. */
function httpServerOf(server: S3rver | undefined): Server | undefined {
  const http: unknown = server && Reflect.get(server, 'httpServer');
  return http && typeof http === 'object' && 'closeAllConnections' in http ? (http as Server) : undefined;
}

/**
 * A real S3-compatible server (s3rver) on a free 127.0.0.1 port, keeping its objects in a
 * temporary directory, with one bucket of a unique name: each test file gets a world of its own.
 */
export async function startS3Server(): Promise<S3Server> {
  const port = await freePort();
  const directory = mkdtempSync(path.join(tmpdir(), 'imgflow-s3-'));
  const bucket = `imgflow-test-${randomUUID().slice(0, 8)}`;
  const create = () => new S3rver({ address: '127.0.0.1', port, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  const answered: AnsweredRequest[] = [];
  const run = async (s: S3rver) => {
    await s.run();
    httpServerOf(s)?.on('request', (req: IncomingMessage, res: ServerResponse) => {
      res.on('finish', () => answered.push({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode }));
    });
  };
  let server: S3rver | undefined = create();
  await run(server);
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    answered,
    env: {
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      // s3rver checks no signature, but the SDK signs every request: any pair will do.
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    pause: async () => {
      const closing = server?.close();
      // An outage cuts connections; s3rver's close alone waits for the SDK's keep-alive sockets to idle out.
      httpServerOf(server)?.closeAllConnections();
      await closing;
      server = undefined;
    },
    resume: async () => {
      server ??= create();
      await run(server);
    },
    stop: async () => {
      const closing = server?.close();
      httpServerOf(server)?.closeAllConnections();
      await closing;
      server = undefined;
      removeDir(directory);
    },
  };
}
