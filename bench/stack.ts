import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { API_NODE_FLAGS } from '../src/launch/api-node-flags';
import { IMAGE_QUEUE, type ImageQueue } from '../src/queue/jobs';
import { freePort, startRedisServer } from '../test/helpers/redis';
import type { ManagedProcess, ProcessGroup } from './process-group';
import { sleep } from './stats';

const REPO = path.resolve(__dirname, '..');

/** Debian's jemalloc, for LD_PRELOAD comparisons; undefined when not installed. */
export const JEMALLOC_PATH = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((p) => existsSync(p));

export interface PrivateRedis {
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * A redis-server of our own on a free port. No RDB snapshots and no AOF: persistence costs
 * Redis CPU and disk writes that a benchmark of the queue's round trips should not pay, and
 * nothing here needs to survive a restart.
 */
export async function startPrivateRedis(group: ProcessGroup): Promise<PrivateRedis> {
  const server = await startRedisServer({ appendonly: false });
  const managed = group.adopt('redis', server.process);
  return {
    url: server.url,
    process: managed,
    stop: async () => {
      await managed.stop();
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

/** One deployment's worth of settings: what a user puts in the API's and the worker's environment. */
export interface ServiceWorld {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly uploadDir: string;
  readonly processedDir: string;
  readonly logDir: string;
  readonly logLevel: string;
}

/** Files go under `dataRoot` (removed after the run), service logs under `logRoot` (kept). */
export function createServiceWorld(dirs: { dataRoot: string; logRoot: string }, redisUrl: string, name: string, logLevel: string): ServiceWorld {
  const world = {
    redisUrl,
    prefix: `bench-${name}-${process.pid}`,
    uploadDir: path.join(dirs.dataRoot, name, 'uploads'),
    processedDir: path.join(dirs.dataRoot, name, 'processed'),
    logDir: path.join(dirs.logRoot, name),
    logLevel,
  };
  for (const dir of [world.uploadDir, world.processedDir, world.logDir]) mkdirSync(dir, { recursive: true });
  return world;
}

export function serviceEnv(world: ServiceWorld, extra: Record<string, string>): NodeJS.ProcessEnv {
  // The bench's own loader (tsx) must not leak into the services: they run from dist/ as built.
  const { NODE_OPTIONS: _loader, ...inherited } = process.env;
  return {
    ...inherited,
    NODE_ENV: 'production',
    REDIS_URL: world.redisUrl,
    QUEUE_PREFIX: world.prefix,
    UPLOAD_DIR: world.uploadDir,
    PROCESSED_DIR: world.processedDir,
    LOG_LEVEL: world.logLevel,
    // Several workers run side by side (and beside tests): none takes the default port.
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
}

async function waitUntil(what: string, proc: ManagedProcess, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (proc.exited()) throw new Error(`${what} exited during start-up (exit ${proc.child.exitCode}); see its log`);
    if (Date.now() > deadline) throw new Error(`${what} was not ready after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface RunningApi {
  readonly base: URL;
  readonly process: ManagedProcess;
}

/** `node --single-threaded-gc dist/api/main.js`, as `npm run start:api` does (API_NODE_FLAGS), on a free port; resolves once /readyz answers. `nodeArgs`: options Node refuses in NODE_OPTIONS (--cpu-prof). */
export async function startApi(group: ProcessGroup, world: ServiceWorld, name = 'api', env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<RunningApi> {
  const port = await freePort();
  const proc = group.start(name, process.execPath, [...API_NODE_FLAGS, ...nodeArgs, path.join(REPO, 'dist/api/main.js')], {
    env: serviceEnv(world, { HOST: '127.0.0.1', PORT: String(port), ...env }),
    logFile: path.join(world.logDir, `${name}.log`),
    cwd: REPO,
  });
  const base = new URL(`http://127.0.0.1:${port}`);
  await waitUntil('the API', proc, async () => (await fetch(new URL('/readyz', base))).ok);
  return { base, process: proc };
}

export interface WorkerLaunch {
  /** Runs the worker under `nice -n N`. */
  readonly nice?: number;
  /** Extra environment: WORKER_CONCURRENCY, LD_PRELOAD, MALLOC_ARENA_MAX… */
  readonly env?: Record<string, string>;
  /** Options Node refuses in NODE_OPTIONS (--cpu-prof). */
  readonly nodeArgs?: readonly string[];
}

/** `node dist/worker/main.js`; resolves once the worker is registered with Redis and waiting for jobs. */
export async function startWorker(group: ProcessGroup, world: ServiceWorld, inspector: Inspector, launch: WorkerLaunch = {}, name = 'worker'): Promise<ManagedProcess> {
  const node = [process.execPath, ...(launch.nodeArgs ?? []), path.join(REPO, 'dist/worker/main.js')];
  // nice execs node in place, so the pid we track is the worker's own.
  const [command, ...args] = launch.nice ? ['nice', '-n', String(launch.nice), ...node] : node;
  const before = await inspector.queue.getWorkersCount();
  const proc = group.start(name, command as string, args, { env: serviceEnv(world, launch.env ?? {}), logFile: path.join(world.logDir, `${name}.log`), cwd: REPO });
  await waitUntil('the worker', proc, async () => (await inspector.queue.getWorkersCount()) > before);
  return proc;
}

export interface JobTimes {
  readonly processedOn: number;
  readonly finishedOn: number;
  /** Finished without a return value: failed for good. */
  readonly failed: boolean;
}

/** The bench's own view into a world's Redis: job timestamps, counts, workers. */
export interface Inspector {
  readonly redis: Redis;
  readonly queue: ImageQueue;
  readonly jobKey: (jobId: string) => string;
  /** processedOn / finishedOn (epoch ms, written by the worker) of finished jobs; unfinished ones are left out. */
  jobTimes(jobIds: readonly string[]): Promise<JobTimes[]>;
  close(): Promise<void>;
}

export function createInspector(world: ServiceWorld): Inspector {
  const redis = new Redis(world.redisUrl, { maxRetriesPerRequest: null });
  const queue: ImageQueue = new Queue(IMAGE_QUEUE, { connection: redis, prefix: world.prefix });
  const jobKey = (jobId: string) => `${world.prefix}:${IMAGE_QUEUE}:${jobId}`;
  return {
    redis,
    queue,
    jobKey,
    async jobTimes(jobIds) {
      const times: JobTimes[] = [];
      for (let i = 0; i < jobIds.length; i += 1000) {
        const pipeline = redis.pipeline();
        for (const id of jobIds.slice(i, i + 1000)) pipeline.hmget(jobKey(id), 'processedOn', 'finishedOn', 'returnvalue');
        for (const [, value] of (await pipeline.exec()) ?? []) {
          const [processedOn, finishedOn, returnvalue] = value as (string | null)[];
          if (processedOn && finishedOn) times.push({ processedOn: Number(processedOn), finishedOn: Number(finishedOn), failed: !returnvalue });
        }
      }
      return times;
    },
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
