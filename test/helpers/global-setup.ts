import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pingRedis, startRedisServer } from './redis';

export const STATE_FILE = path.join(tmpdir(), `imgflow-test-redis-${process.pid}.json`);

/**
 * Reuses a Redis that already answers (TEST_REDIS_URL, then REDIS_URL, then the default port);
 * otherwise starts a private redis-server and records it for the teardown. Test files read
 * the URL from TEST_REDIS_URL, which their worker processes inherit.
 */
export default async function globalSetup(): Promise<void> {
  for (const url of [process.env.TEST_REDIS_URL, process.env.REDIS_URL, 'redis://127.0.0.1:6379']) {
    if (url && (await pingRedis(url))) {
      process.env.TEST_REDIS_URL = url;
      return;
    }
  }
  const server = await startRedisServer();
  process.env.TEST_REDIS_URL = server.url;
  process.env.IMGFLOW_TEST_REDIS_STATE = STATE_FILE;
  writeFileSync(STATE_FILE, JSON.stringify({ pid: server.process.pid, dir: server.dir }));
  server.process.unref();
}
