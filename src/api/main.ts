import { mkdirSync } from 'node:fs';
import dotenv from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runMain } from '../run-main';
import { onShutdown } from '../shutdown';
import { composeApi } from './compose';
import { closeServer, listen } from './server';

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'imgflow-api' });
  mkdirSync(config.uploads.dir, { recursive: true });

  const api = composeApi(config, logger);
  const server = await listen(api.app, config.http);
  logger.info({ port: config.http.port, host: config.http.host }, 'api listening');
  if (api.deps.adminAccess.mode === 'refuse') logger.warn('ADMIN_TOKEN is not set: the dead-letter routes answer 401 until it is');

  onShutdown(logger, [api.endStreams, ['http', () => closeServer(server, config.http.drainMs)], ...api.closeSteps], {
    deadlineMs: config.shutdownTimeoutMs,
  });
}

runMain('imgflow-api', main);
