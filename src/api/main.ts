import { mkdirSync } from 'node:fs';
import dotenv from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { onShutdown } from '../shutdown';
import { composeApi } from './compose';

dotenv.config({ quiet: true });
const config = loadConfig(process.env);
const logger = createLogger({ level: config.logLevel, name: 'imgflow-api' });
mkdirSync(config.uploads.dir, { recursive: true });

const api = composeApi(config, logger);
const server = api.app.listen(config.http.port, config.http.host, () => {
  logger.info({ port: config.http.port, host: config.http.host }, 'api listening');
});
// A client trickling bytes cannot hold a connection (and an upload slot) forever.
server.requestTimeout = config.http.requestTimeoutMs;
server.headersTimeout = Math.min(config.http.requestTimeoutMs, 20_000);

const closeServer = () =>
  new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve())); // in-flight requests finish
    server.closeIdleConnections();
  });

onShutdown(logger, [['http', closeServer], ...api.closeSteps], { deadlineMs: config.shutdownTimeoutMs });
