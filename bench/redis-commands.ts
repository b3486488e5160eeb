import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createBatchStore } from '../src/queue/batch-store';

/** Names for EVALSHA digests: BullMQ's scripts and imgflow's own, so a count reads as "moveToFinished", not a hash. */
export function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  // BullMQ loads each script with defineCommand(content), so the digest is sha1 of the content.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bullmqScripts = require('bullmq/dist/cjs/scripts') as Record<string, { name: string; content: string }>;
  for (const script of Object.values(bullmqScripts)) {
    names.set(createHash('sha1').update(script.content).digest('hex'), script.name);
  }
  const redis = new Redis({ lazyConnect: true });
  createBatchStore(redis, { prefix: 'x', ttlSeconds: 1 });
  for (const [name, script] of Object.entries(redis.scriptsSet as Record<string, { sha: string }>)) names.set(script.sha, name);
  redis.disconnect();
  return names;
}

/**
 * Which process owns each local TCP port connected to `redisPort`: the socket inodes in each
 * pid's fd table matched against /proc/net/tcp. MONITOR names clients by address, this turns
 * an address into "api" or "worker".
 */
export function portOwners(redisPort: number, processes: Record<string, number>): Map<number, string> {
  const inodeOwner = new Map<string, string>();
  for (const [name, pid] of Object.entries(processes)) {
    for (const fd of readdirSync(`/proc/${pid}/fd`, { withFileTypes: false })) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match?.[1]) inodeOwner.set(match[1], name);
      } catch {
        // closed between readdir and readlink
      }
    }
  }
  const owners = new Map<number, string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, remote, inode] = [cols[1], cols[2], cols[9]];
      if (!local || !remote || !inode) continue;
      const owner = inodeOwner.get(inode);
      if (owner && parseInt(remote.split(':')[1] ?? '', 16) === redisPort) owners.set(parseInt(local.split(':')[1] ?? '', 16), owner);
    }
  }
  return owners;
}
