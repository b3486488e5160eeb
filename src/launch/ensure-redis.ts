import { connect } from 'node:net';
import type { Logger } from 'pino';
import { isErrno } from '../errno';
import { pingRedis, startRedisServer, stopProcess } from './redis-server';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const STOP_TIMEOUT_MS = 10_000;

/** A condition the launcher cannot fix by itself; its message tells the user what to do. */
export class LaunchError extends Error {
  override name = 'LaunchError';
}

export interface RedisHandle {
  /** Stops the private redis-server (AOF flushed); a no-op for a Redis someone else runs. */
  stop(): Promise<void>;
}

/**
 * Reuses the Redis that answers at `url`; otherwise, when `url` is local, starts a private
 * redis-server on its port with AOF under `dataDir`. Anything else is a LaunchError.
 */
export async function ensureRedis({ url, dataDir, logger }: { url: string; dataDir: string; logger: Logger }): Promise<RedisHandle> {
  const target = new URL(url);
  const shown = redactUrl(target);
  const ping = await pingRedis(url);
  if (ping.ok) {
    logger.info({ redis: shown }, 'using the redis that answers');
    return { stop: async () => undefined };
  }
  if (target.protocol !== 'redis:' || !LOCAL_HOSTS.has(target.hostname)) {
    throw new LaunchError(`Nothing answers at ${shown} (${ping.reason}). Start that Redis, or set REDIS_URL to one that runs.`);
  }
  const port = Number(target.port || 6379);
  if (await portIsOpen(port)) {
    throw new LaunchError(`Something listens on port ${port} but does not answer PING at ${shown} (${ping.reason}). Check REDIS_URL and REDIS_PASSWORD.`);
  }
  const server = await startRedisServer({ port, dataDir, password: decodeURIComponent(target.password), appendonly: true, detached: true }).catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw new LaunchError(err instanceof Error ? err.message : String(err));
    throw new LaunchError(
      `Nothing answers at ${shown} and redis-server is not on the PATH. Get a Redis in one of three ways: ` +
        'install it (Debian/Ubuntu: `sudo apt-get install redis-server`), run `docker compose up -d redis`, ' +
        'or set REDIS_URL to a Redis you already have.',
    );
  });
  logger.info({ redis: shown, redisPid: server.pid, dataDir }, 'started a private redis-server');
  return {
    stop: async () => {
      await stopProcess(server, STOP_TIMEOUT_MS);
      logger.info({ redisPid: server.pid }, 'private redis-server stopped');
    },
  };
}

function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1000 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function redactUrl(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString();
}
