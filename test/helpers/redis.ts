import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pingRedis as pingLauncher, startRedisServer as startLauncherRedis, stopProcess } from '../../src/launch/redis-server';

/** Whether a Redis answers PING at `url`: the launcher's probe, as a boolean. */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  return (await pingLauncher(url, timeoutMs)).ok;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** SIGTERM with a save-free shutdown (AOF keeps what was written), then wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts again on the same port and data directory. */
  restart(): Promise<RedisServer>;
}

/** Starts a private redis-server on a free port, the way `npm start` does; AOF (everysec) on when asked, for durability tests. */
export async function startRedisServer(options: { appendonly?: boolean; port?: number; dir?: string } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'imgflow-redis-'));
  const child = await startLauncherRedis({ port, dataDir: dir, appendonly: options.appendonly ?? false });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    // A crash test's SIGKILL must land as sent; the launcher's SIGKILL fallback only covers a hang.
    stop: (signal = 'SIGTERM') => stopProcess(child, 10_000, signal),
    restart: () => startRedisServer({ ...options, port, dir }),
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Deletes every key under a test's prefix. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
