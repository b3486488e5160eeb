import { mkdirSync } from 'node:fs';
import dotenv from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { onShutdown } from '../shutdown';
import { composeWorker } from './compose';

dotenv.config({ quiet: true });
const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: 'imgflow-worker' });
mkdirSync(config.uploads.dir, { recursive: true });
mkdirSync(config.processedDir, { recursive: true });

const { worker, closeSteps } = composeWorker(config, logger);
onShutdown(logger, closeSteps, { deadlineMs: config.shutdownTimeoutMs });

worker.run().catch((err: unknown) => {
  logger.fatal({ err }, 'worker stopped');
  process.exit(1);
});
logger.info({ concurrency: config.worker.concurrency, sharpThreads: config.worker.sharpThreads, prefix: config.redis.prefix }, 'worker started');
