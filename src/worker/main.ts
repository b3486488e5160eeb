import { mkdirSync } from 'node:fs';
import dotenv from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runMain } from '../run-main';
import { onShutdown } from '../shutdown';
import { composeWorker } from './compose';

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'imgflow-worker', format: config.logFormat });
  // With a bucket the process keeps no files at all.
  if (config.storage.driver === 'local') {
    // With a bucket the process keeps no files at all.
  if (config.storage.driver === 'local') mkdirSync(config.uploads.dir, { recursive: true });
    mkdirSync(config.processedDir, { recursive: true });
  }

  const { worker, closeSteps } = composeWorker(config, logger);
  onShutdown(logger, closeSteps, { deadlineMs: config.shutdownTimeoutMs });
  logger.info({ concurrency: config.worker.concurrency, sharpThreads: config.worker.sharpThreads, prefix: config.redis.prefix }, 'worker started');
  await worker.run();
}

runMain('imgflow-worker', main);
