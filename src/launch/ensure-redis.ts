import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const START_TIMEOUT_MS = 10_000;
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
  const server = await startRedisServer({ port, dataDir, password: decodeURIComponent(target.password) }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
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

async function startRedisServer({ port, dataDir, password }: { port: number; dataDir: string; password: string }): Promise<ChildProcess> {
  mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'redis.log');
  // Settings go in through stdin (`redis-server -`) so a password never shows in `ps`.
  const settings = [
    `port ${port}`,
    'bind 127.0.0.1 -::1',
    `dir ${JSON.stringify(dataDir)}`,
    `logfile ${JSON.stringify(logFile)}`,
    'daemonize no',
    // AOF alone: jobs survive a crash with at most a second lost, without RDB's fork-and-dump pauses.
    'appendonly yes',
    'appendfsync everysec',
    'save ""',
    // BullMQ's keys must never be evicted; a full Redis should refuse writes instead.
    'maxmemory-policy noeviction',
    ...(password ? [`requirepass ${JSON.stringify(password)}`] : []),
  ];
  // Its own process group: a Ctrl-C in the terminal must not stop Redis before the worker is done.
  const child = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject); // ENOENT when redis-server is not on the PATH
  });
  child.stdin?.end(`${settings.join('\n')}\n`);

  const url = `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await pingRedis(url, 200)).ok) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopProcess(child, 1000);
      throw new LaunchError(`redis-server did not start on port ${port}; the end of ${logFile}:\n${tail(logFile, 5)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

type PingResult = { ok: true } | { ok: false; reason: string };

/** One PING with a short timeout and no retries; the reason says why it failed. */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<PingResult> {
  // disconnectTimeout 0: ioredis otherwise arms a 2 s timer on disconnect that a refused socket
  // never clears, which keeps the process alive that long after a failed probe.
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, disconnectTimeout: 0, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => (lastError = err));
  try {
    await client.connect();
    await client.ping();
    return { ok: true };
  } catch (err) {
    // ioredis reports a refused connection as "Connection is closed"; the 'error' event has the cause.
    return { ok: false, reason: (lastError ?? (err as Error)).message };
  } finally {
    client.disconnect();
  }
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

/** SIGTERM (Redis flushes its AOF and exits), then SIGKILL if it is still there after `timeoutMs`. */
async function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function redactUrl(url: URL): string {
  const copy = new URL(url);
  if (copy.password) copy.password = '***';
  return copy.toString();
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
