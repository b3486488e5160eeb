import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';

const START_TIMEOUT_MS = 10_000;

export interface RedisServerOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly password?: string | undefined;
  /** AOF (everysec): jobs survive a crash with at most a second lost. */
  readonly appendonly: boolean;
  /** Its own process group, so a Ctrl-C in the terminal reaches it only through the launcher. */
  readonly detached?: boolean;
}

/** Starts redis-server on 127.0.0.1:`port` and resolves once it answers PING. Rejects with ENOENT when it is not installed. */
export async function startRedisServer(options: RedisServerOptions): Promise<ChildProcess> {
  const { port, dataDir, password } = options;
  mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'redis.log');
  // Settings go in through stdin (`redis-server -`) so a password never shows in `ps`.
  const settings = [
    `port ${port}`,
    'bind 127.0.0.1 -::1',
    `dir ${JSON.stringify(dataDir)}`,
    `logfile ${JSON.stringify(logFile)}`,
    'daemonize no',
    ...(options.appendonly ? ['appendonly yes', 'appendfsync everysec'] : []),
    // No RDB snapshots, and their fork-and-dump pauses: AOF when asked for, else (tests) nothing kept.
    'save ""',
    // BullMQ's keys must never be evicted; a full Redis should refuse writes instead.
    'maxmemory-policy noeviction',
    ...(password ? [`requirepass ${JSON.stringify(password)}`] : []),
  ];
  const child = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'ignore'], detached: options.detached ?? false });
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
      throw new Error(`redis-server did not start on port ${port}; the end of ${logFile}:\n${tail(logFile, 5)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

export type PingResult = { ok: true } | { ok: false; reason: string };

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
    return { ok: false, reason: (lastError ?? (err instanceof Error ? err : new Error(String(err)))).message };
  } finally {
    client.disconnect();
  }
}

/** Sends `signal` (SIGTERM: Redis flushes its AOF and exits), then SIGKILL if it is still there after `timeoutMs`. */
export async function stopProcess(child: ChildProcess, timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
