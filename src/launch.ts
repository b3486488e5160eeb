import { randomBytes } from 'node:crypto';
import path from 'node:path';
import dotenv from 'dotenv';
import type { Logger } from 'pino';
import { loadConfig, type Config } from './config';
import { allocatorEnv } from './launch/allocator';
import { API_NODE_FLAGS } from './launch/api-node-flags';
import { ensureRedis, LaunchError, type RedisHandle } from './launch/ensure-redis';
import { supervise, type ChildSpec } from './launch/supervise';
import { createLogger } from './logger';
import { runMain } from './run-main';

/**
 * `npm start` and `npm run dev`: one command for a newcomer. Reuses the Redis at
 * REDIS_URL or starts a private one, runs the API and the worker as child processes, forwards
 * SIGTERM/SIGINT to them, and stops the private Redis only after both have exited.
 */
async function main(): Promise<number> {
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'imgflow-launch', format: config.logFormat });

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals | 'parent exited') => {
    if (stop.signal.aborted) return logger.info({ signal }, 'already stopping');
    logger.info({ signal }, 'stopping');
    // The children handle SIGINT and SIGTERM only; a hang-up means stop all the same.
    stop.abort(signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM');
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
  // npm runs us under `sh -c` and forwards its SIGTERM to that shell, which dies of it without
  // passing it on. Stop when the parent is gone rather than run on, orphaned, with nobody to stop us.
  const parent = process.ppid;
  const watchParent = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watchParent); // once is enough; otherwise it would log 'already stopping' every tick
    onSignal('parent exited');
  }, 500);
  watchParent.unref();

  let redis: RedisHandle;
  try {
    // A cluster or Sentinel deployment is run by someone else: the children connect to it themselves.
    redis =
      config.redis.target.mode === 'single'
        ? await ensureRedis({ url: config.redis.url, dataDir: config.launch.redisDataDir, logger })
        : { stop: async () => undefined };
  } catch (err) {
    if (err instanceof LaunchError) logger.fatal(err.message);
    else logger.fatal({ err }, 'could not get a redis');
    return 1;
  }
  let code = 0;
  try {
    // The child shutdowns have their own deadline; ours only catches one that hangs past it.
    const deadlineMs = config.shutdownTimeoutMs + 5000;
    // A composition root: forwards process.env to the children on purpose, the exception to "only config.ts reads process.env".
    const env = { ...process.env, ...allocatorEnv(process.env), ADMIN_TOKEN: localAdminToken(config, logger) };
    if (!stop.signal.aborted) code = await supervise(childSpecs(config), { logger, env, stopSignal: stop.signal, deadlineMs });
  } finally {
    await redis.stop();
  }
  logger.info({ code }, 'stopped');
  return code;
}

/**
 * ADMIN_TOKEN when set; otherwise a random one for this run, printed once, since the API refuses
 * operator routes without a token and a local operator still needs to reach the dead letters.
 */
function localAdminToken(config: Config, logger: Logger): string {
  if (config.http.adminToken) return config.http.adminToken;
  const adminToken = randomBytes(24).toString('base64url');
  logger.warn({ adminToken }, 'generated an ADMIN_TOKEN for this run: call the operator routes with Authorization: Bearer <adminToken>, or set ADMIN_TOKEN');
  return adminToken;
}

/**
 * The API and the worker, in the launcher's own form: dist/ JavaScript under `npm start`, the
 * TypeScript sources through tsx under `npm run dev` (so its --dev flag is only a label).
 */
function childSpecs(config: Config): ChildSpec[] {
  const fromSource = path.extname(__filename) === '.ts';
  const entry = (role: 'api' | 'worker') => (fromSource ? ['--import', 'tsx', path.join(__dirname, role, 'main.ts')] : [path.join(__dirname, role, 'main.js')]);
  // `nice` rather than os.setPriority after the spawn: Linux keeps the nice value per thread, and
  // only threads created after the change inherit it; `nice` sets it before Node starts any.
  const worker: ChildSpec =
    config.launch.workerNice > 0
      ? { name: 'worker', command: 'nice', args: ['-n', String(config.launch.workerNice), process.execPath, ...entry('worker')] }
      : { name: 'worker', command: process.execPath, args: entry('worker') };
  return [{ name: 'api', command: process.execPath, args: [...API_NODE_FLAGS, ...entry('api')] }, worker];
}

// A bad setting fails before the logger exists; runMain prints it as one line naming the variable.
runMain('imgflow', async () => {
  // exitCode rather than exit(): pino writes stdout asynchronously, and exit() can cut or reorder
  // the last lines. Everything is closed by now; the timer only guards against a handle left open.
  process.exitCode = await main();
  setTimeout(() => process.exit(), 2000).unref();
});
