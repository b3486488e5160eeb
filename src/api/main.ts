import { mkdirSync } from 'node:fs';
import dotenv from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runMain } from '../run-main';
import { onShutdown } from '../shutdown';
import { makeLocalDirectories } from '../storage/open-file-stores';
import { composeApi } from './compose';
import { closeServer, listen } from './server';

async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.logLevel, name: 'imgflow-api', format: config.logFormat });
  makeLocalDirectories(config);
  // tus parts arrive on this machine's disk whatever the storage driver.
  mkdirSync(config.resumable.dir, { recursive: true });

  const api = composeApi(config, logger);
  const server = await listen(api.app, config.http);
  // Where a person goes next; 0.0.0.0 and :: are not addresses a browser opens.
  const shown = ['0.0.0.0', '::'].includes(config.http.host) ? 'localhost' : config.http.host;
  const base = `http://${shown}:${config.http.port}`;
  logger.info({ port: config.http.port, host: config.http.host, page: `${base}/`, docs: `${base}/docs` }, 'api listening');
  if (api.deps.adminAccess.mode === 'refuse') logger.warn('ADMIN_TOKEN is not set: the dead-letter routes answer 401 until it is');

  onShutdown(logger, [api.endStreams, ['http', () => closeServer(server, config.http.drainMs)], ...api.closeSteps], {
    deadlineMs: config.shutdownTimeoutMs,
  });
}

runMain('imgflow-api', main);
