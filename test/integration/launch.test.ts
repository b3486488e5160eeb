import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { API_NODE_FLAGS } from '../../src/launch/api-node-flags';
import { fixtures } from '../fixtures/images';
import { freePort, removeDir } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '../..');
// Three processes (launcher, API, worker) each compile their TypeScript through tsx at start,
// on a 2-core machine shared with other test files.
const LAUNCH_TIMEOUT_MS = 60_000;

interface Launched {
  readonly child: ChildProcess;
  readonly root: string;
  readonly baseUrl: string;
  readonly redisPort: number;
  output(): string;
  /** Process ids the launcher logged: its own, the API's, the worker's and its private redis-server's. */
  pids(): Pids;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

type Pids = { launcher?: number; api?: number; worker?: number; redis?: number };

const launched: Launched[] = [];

/**
 * Runs `npm run dev`'s command with a private world: free ports, temp dirs, its own prefix.
 * With `underShell`, inside `sh -c` the way npm runs scripts (the `; true` keeps sh as the parent).
 */
async function launch(env: Record<string, string> = {}, { underShell = false } = {}): Promise<Launched> {
  const root = mkdtempSync(path.join(tmpdir(), 'imgflow-launch-'));
  const [port, redisPort] = [await freePort(), await freePort()];
  const command = [process.execPath, '--import', 'tsx', 'src/launch.ts', '--dev'];
  const [file, args] = underShell ? ['sh', ['-c', `${command.join(' ')}; true`]] : [process.execPath, command.slice(1)];
  const child = spawn(file, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_DATA_DIR: path.join(root, 'redis'),
      UPLOAD_DIR: path.join(root, 'uploads'),
      PROCESSED_DIR: path.join(root, 'processed'),
      QUEUE_PREFIX: `imgflow-test-${randomUUID()}`,
      WORKER_CONCURRENCY: '1',
      // Launches run beside other test files: the worker serves no metrics port to collide on.
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const run: Launched = { child, root, baseUrl: `http://127.0.0.1:${port}`, redisPort, output: () => output, pids: () => launcherPids(output), exited };
  launched.push(run);
  return run;
}

function launcherPids(output: string): Pids {
  const pids: Pids = {};
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { name?: string; pid?: number; msg?: string; child?: 'api' | 'worker'; childPid?: number; redisPid?: number };
    if (entry.name !== 'imgflow-launch') continue;
    pids.launcher = entry.pid;
    if (entry.msg === 'child started' && entry.child) pids[entry.child] = entry.childPid;
    if (entry.msg === 'started a private redis-server') pids.redis = entry.redisPid;
  }
  return pids;
}

/** The token from the launcher's one 'generated an ADMIN_TOKEN' line; undefined when there is none or several. */
function generatedAdminToken(output: string): string | undefined {
  const lines = output.split('\n').filter((line) => line.startsWith('{') && line.includes('generated an ADMIN_TOKEN'));
  return lines.length === 1 ? (JSON.parse(lines[0] as string) as { adminToken?: string }).adminToken : undefined;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// A raw TCP connect rather than an ioredis PING: a refused ioredis client keeps Jest alive for a while.
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true)).once('error', () => done(false));
  });
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a value; gives up at the deadline or, unless `afterExit`, when the launcher exits. */
async function poll<T>(check: () => Promise<T | undefined>, what: string, run: Launched, timeoutMs = 30_000, { afterExit = false } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if ((!afterExit && run.child.exitCode !== null) || Date.now() > deadline) throw new Error(`Gave up waiting for ${what}; launcher output:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Ready, not just alive: an upload before the API's Redis connection is up answers 503.
const waitForApi = (run: Launched) =>
  poll(async () => ((await fetch(`${run.baseUrl}/readyz`)).ok && run.pids().worker ? true : undefined), 'the API and the worker', run);

afterAll(async () => {
  for (const run of launched) {
    for (const pid of [run.child.pid, ...Object.values(run.pids())]) if (isAlive(pid)) process.kill(pid as number, 'SIGKILL');
    removeDir(run.root);
  }
});

describe('npm start (src/launch.ts)', () => {
  it(
    'starts a private redis-server, runs API and worker until a batch completes, and on SIGTERM stops all three with exit 0',
    async () => {
      const run = await launch();
      await waitForApi(run);
      const { api, worker, redis } = run.pids();
      expect([api, worker, redis].every(isAlive)).toBe(true);
      expect(readFileSync(`/proc/${api}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining([...API_NODE_FLAGS]));

      const form = new FormData();
      for (const file of [fixtures.jpegExif6, fixtures.rgbaPng]) form.append('images', new Blob([readFileSync(file)]), path.basename(file));
      const upload = await fetch(`${run.baseUrl}/process-images`, { method: 'POST', body: form });
      expect(upload.status).toBe(202);
      const { statusUrl } = (await upload.json()) as { statusUrl: string };
      await poll(async () => {
        const batch = (await (await fetch(`${run.baseUrl}${statusUrl}`)).json()) as { status: string };
        return batch.status === 'completed' ? batch : undefined;
      }, 'the batch to complete', run);
      expect(readdirSync(path.join(run.root, 'processed')).filter((f) => f.endsWith('.jpg'))).toHaveLength(2);

      // No ADMIN_TOKEN in the environment: the launcher made one, printed it once, and the API holds to it.
      const adminToken = generatedAdminToken(run.output());
      expect(adminToken).toMatch(/^[\w-]{32,}$/);
      expect((await fetch(`${run.baseUrl}/dead-letters`)).status).toBe(401);
      expect((await fetch(`${run.baseUrl}/dead-letters`, { headers: { Authorization: `Bearer ${adminToken}` } })).status).toBe(200);

      run.child.kill('SIGTERM');
      const { code } = await within(run.exited, 30_000, 'the launcher to exit');
      expect({ code, output: run.output() }).toMatchObject({ code: 0 });
      expect([api, worker, redis].filter(isAlive)).toEqual([]);
      expect(await isListening(run.redisPort)).toBe(false);
      // The private Redis kept its data as an append-only file in REDIS_DATA_DIR.
      expect(existsSync(path.join(run.root, 'redis', 'appendonlydir'))).toBe(true);
    },
    LAUNCH_TIMEOUT_MS,
  );

  it(
    'stops the API and the private Redis, and exits 1, when the worker dies on its own',
    async () => {
      const run = await launch();
      await waitForApi(run);
      const { api, worker, redis } = run.pids();
      expect([api, worker, redis].every(isAlive)).toBe(true); // known and running, so the check after the exit means something

      process.kill(worker as number, 'SIGKILL');
      const { code } = await within(run.exited, 30_000, 'the launcher to exit');
      expect(code).toBe(1);
      expect([api, worker, redis].filter(isAlive)).toEqual([]);
      expect(await isListening(run.redisPort)).toBe(false);
    },
    LAUNCH_TIMEOUT_MS,
  );

  it(
    'stops everything when its parent shell dies, as sh does when npm forwards SIGTERM to it',
    async () => {
      const run = await launch({}, { underShell: true });
      await waitForApi(run);
      const { launcher, api, worker, redis } = run.pids();
      expect([launcher, api, worker, redis].every(isAlive)).toBe(true);

      run.child.kill('SIGTERM');
      await poll(async () => (isAlive(launcher) ? undefined : true), 'the orphaned launcher to stop', run, 30_000, { afterExit: true });
      expect([api, worker, redis].filter(isAlive)).toEqual([]);
      expect(run.output()).toContain('"signal":"parent exited","msg":"stopping"');
    },
    LAUNCH_TIMEOUT_MS,
  );

  it(
    'fails with how to get Redis when none answers and redis-server is not on the PATH',
    async () => {
      const run = await launch({ PATH: path.join(tmpdir(), `imgflow-empty-path-${randomUUID()}`) });
      const { code } = await within(run.exited, 30_000, 'the launcher to exit');
      expect(code).toBe(1);
      expect(run.output()).toMatch(/redis-server is not on the PATH.*apt-get install redis-server.*docker compose up -d redis.*REDIS_URL/);
      expect(run.pids()).toEqual({ launcher: run.child.pid }); // no API, worker or Redis started
    },
    LAUNCH_TIMEOUT_MS,
  );
});
