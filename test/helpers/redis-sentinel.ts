import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { stopProcess } from '../../src/launch/redis-server';
import { freePort, removeDir, startRedisServer, type RedisServer } from './redis';

export interface RedisSentinel {
  /** `host:port` as REDIS_SENTINELS takes it. */
  readonly sentinels: string;
  readonly masterName: string;
  readonly master: RedisServer;
  /** Kills the sentinel and the master and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

/** A private redis-server watched by one Sentinel (`redis-server --sentinel`), resolved once the Sentinel names it as master. */
export async function startRedisSentinel(masterName = 'imgflow-test'): Promise<RedisSentinel> {
  const master = await startRedisServer();
  const port = await freePort();
  // Sentinel rewrites its config file, so it lives in the master's temporary directory.
  const conf = path.join(master.dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${port}`, 'bind 127.0.0.1', `dir ${JSON.stringify(master.dir)}`, `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`, ''].join('\n'));
  const sentinel: ChildProcess = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await stopProcess(sentinel, 5000, 'SIGKILL');
      await master.stop('SIGKILL');
      removeDir(master.dir);
    })());
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      const found = await client
        .connect()
        .then(() => client.call('SENTINEL', 'get-master-addr-by-name', masterName))
        .catch(() => null)
        .finally(() => client.disconnect());
      if (Array.isArray(found) && Number(found[1]) === master.port) break;
      if (Date.now() > deadline) throw new Error(`Sentinel on ${port} did not report master ${masterName}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { sentinels: `127.0.0.1:${port}`, masterName, master, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
