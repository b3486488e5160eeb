import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stopProcess } from '../../src/launch/redis-server';
import { freePort, pingRedis, removeDir } from './redis';

const run = promisify(execFile);

export interface RedisCluster {
  /** `host:port,…` as REDIS_CLUSTER_NODES takes it. */
  readonly nodes: string;
  readonly ports: readonly number[];
  /** Kills every server and removes their directory; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A local Redis Cluster of `masters` masters without replicas on free ports, started the way
 * the Redis docs do it (`--cluster-enabled yes`, then `redis-cli --cluster create`), and
 * resolved once every node reports cluster_state:ok. Nothing is persisted.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'imgflow-cluster-'));
  const servers: ChildProcess[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all(servers.map((s) => stopProcess(s, 5000, 'SIGKILL')));
      removeDir(dir);
    })());
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await freePort());
    for (const port of ports) {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no'];
      const server = spawn('redis-server', args, { stdio: 'ignore' });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('spawn', resolve);
        server.once('error', reject);
      });
    }
    for (const port of ports) await waitUntil(() => pingRedis(`redis://127.0.0.1:${port}`, 200), `redis-server on ${port} to answer`);
    const addresses = ports.map((p) => `127.0.0.1:${p}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await waitUntil(async () => /cluster_state:ok/.test((await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout), `node ${port} to report cluster_state:ok`);
    }
    return { nodes: addresses.join(','), ports, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
