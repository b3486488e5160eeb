import dotenv from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runMain } from '../run-main';
import { onShutdown, type ShutdownStep } from '../shutdown';
import { makeLocalDirectories } from '../storage/open-file-stores';
import { startMetricsServer } from '../metrics/metrics-server';
import { EXIT_REDIS_LOST } from '../exit-codes';
import { composeWorker } from './compose';
import { watchRedisLoss } from './redis-loss';

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'imgflow-worker', format: config.logFormat });
  makeLocalDirectories(config);

  const { worker, redis, metrics, closeSteps } = composeWorker(config, logger);
  const { workerPort: port, workerHost: host, token } = config.metrics;
  // A taken port ends start-up (exit 1): a worker nobody can scrape would go unseen.
  const metricsServer = port === 0 ? undefined : await startMetricsServer(metrics.registry, { host, port, token });
  if (metricsServer) logger.info({ port: metricsServer.port, host }, 'worker metrics listening');
  const steps: ShutdownStep[] = metricsServer ? [...closeSteps, ['metrics server', metricsServer.close]] : [...closeSteps];
  const stop = onShutdown(logger, steps, { deadlineMs: config.shutdownTimeoutMs });
  watchRedisLoss(redis, config.redis.lostExitMs, (downMs) => {
    logger.error({ downMs, exitCode: EXIT_REDIS_LOST }, 'redis unreachable for REDIS_LOST_EXIT_S: exiting to be restarted');
    stop('redis lost', EXIT_REDIS_LOST);
  });
  logger.info({ concurrency: config.worker.concurrency, sharpThreads: config.worker.sharpThreads, prefix: config.redis.prefix }, 'worker started');
  await worker.run();
}

runMain('imgflow-worker', main);
