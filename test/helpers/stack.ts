import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import supertest from 'supertest';
import { composeApi, type ApiContext } from '../../src/api/compose';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createShutdown } from '../../src/shutdown';
import { composeWorker, type WorkerContext } from '../../src/worker/compose';
import { deleteKeys, removeDir } from './redis';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run integration tests through jest (globalSetup sets it)');
  return url;
}

/** For worlds whose tests use the operator routes: pass it as ADMIN_TOKEN, then call them through `stack.admin`. */
export const TEST_ADMIN_TOKEN = 'imgflow-test-admin-token';

export interface TestWorld {
  readonly prefix: string;
  readonly uploadDir: string;
  readonly processedDir: string;
  readonly env: Record<string, string>;
  readonly config: Config;
  readonly logger: Logger;
  /** Deletes the prefix's keys and the temporary directories. */
  cleanup(): Promise<void>;
}

/** A private prefix (unless `env` names one) and temporary directories, so test files never see each other's jobs. */
export function createTestWorld(env: Record<string, string> = {}): TestWorld {
  const prefix = env.QUEUE_PREFIX ?? `imgflow-test-${randomUUID()}`;
  const root = mkdtempSync(path.join(tmpdir(), 'imgflow-test-'));
  const fullEnv: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    UPLOAD_DIR: path.join(root, 'uploads'),
    PROCESSED_DIR: path.join(root, 'processed'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JOB_BACKOFF_MS: '100',
    WORKER_CONCURRENCY: '2',
    // Test files run in parallel: a worker process serves metrics only where a test asks for a port.
    WORKER_METRICS_PORT: '0',
    ...env,
  };
  const config = loadConfig(fullEnv);
  mkdirSync(config.uploads.dir, { recursive: true });
  mkdirSync(config.processedDir, { recursive: true });
  return {
    prefix,
    uploadDir: config.uploads.dir,
    processedDir: config.processedDir,
    env: fullEnv,
    config,
    logger: createLogger({ level: config.logLevel, name: 'test', format: 'json' }),
    cleanup: async () => {
      await deleteKeys(config.redis.url, prefix);
      removeDir(root);
    },
  };
}

export interface TestStack {
  readonly world: TestWorld;
  readonly api: ApiContext;
  readonly request: supertest.Agent;
  /** Like `request`, with `Authorization: Bearer <ADMIN_TOKEN>` when the world sets one. */
  readonly admin: supertest.Agent;
  /** Present when started with `worker: true` (in-process). */
  readonly worker?: WorkerContext;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** The API (driven through supertest, never listening) and optionally an in-process worker. */
export async function startStack(options: { env?: Record<string, string>; worker?: boolean; world?: TestWorld } = {}): Promise<TestStack> {
  const world = options.world ?? createTestWorld(options.env);
  const api = composeApi(world.config, world.logger);
  await api.ports.queue.waitUntilReady();
  const worker = options.worker ? composeWorker(world.config, world.logger) : undefined;
  if (worker) {
    void worker.worker.run();
    await worker.worker.current().waitUntilReady();
  }
  const stopWorker = worker ? createShutdown(world.logger, worker.closeSteps) : async () => true;
  const stopApi = createShutdown(world.logger, api.closeSteps);
  const adminToken = world.config.http.adminToken;
  return {
    world,
    api,
    request: supertest.agent(api.app),
    admin: adminToken ? supertest.agent(api.app).set('Authorization', `Bearer ${adminToken}`) : supertest.agent(api.app),
    ...(worker ? { worker } : {}),
    stopWorker: async () => {
      await stopWorker();
    },
    stop: async () => {
      await stopWorker();
      await stopApi();
      await world.cleanup();
    },
  };
}

/** Polls until `check` returns a value, or fails with the last value seen. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
