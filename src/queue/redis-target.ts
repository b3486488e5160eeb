import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** Every connection the app opens: one server (plain or behind Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** Where Redis is, as config.ts resolves it from REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS. */
export type RedisTarget =
  | { readonly mode: 'single'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly RedisNode[]; readonly auth: RedisAuth; readonly tls: boolean }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly RedisNode[];
      readonly name: string;
      readonly sentinelPassword: string | undefined;
      readonly auth: RedisAuth;
      readonly tls: boolean;
    };

export interface RedisAuth {
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** Parses `host:port,host:port` (port 6379 when left out) into nodes, or says what is wrong with it. */
export function parseRedisNodes(list: string): RedisNode[] | string {
  const nodes: RedisNode[] = [];
  for (const entry of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(entry);
    const port = Number(match?.[2] ?? 6379);
    if (!match?.[1] || port < 1 || port > 65535) return `expected host:port but received ${JSON.stringify(entry)}`;
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ''), port });
  }
  return nodes.length ? nodes : 'expected at least one host:port';
}

/**
 * Opens a connection to `target` with the role's options (queue/connection.ts). A cluster gets
 * them per node, and its own offline queue and retry strategy, which ioredis keeps at the top
 * level; BullMQ reads `maxRetriesPerRequest` from the per-node options.
 */
export function openRedis(target: RedisTarget, options: RedisOptions): RedisClient {
  if (target.mode === 'single') return new Redis(target.url, options);
  const auth = { username: target.auth.username, password: target.auth.password };
  const tls = target.tls ? { tls: {} } : {};
  if (target.mode === 'sentinel') {
    return new Redis({
      ...options,
      ...auth,
      ...tls,
      sentinels: target.sentinels.map((n) => ({ ...n })),
      name: target.name,
      sentinelPassword: target.sentinelPassword,
      // Sentinels usually sit on the same network as the servers they watch, so with TLS on for one both speak it.
      enableTLSForSentinelMode: target.tls,
    });
  }
  const { enableOfflineQueue, retryStrategy, ...perNode } = options;
  return new Cluster(
    target.nodes.map((n) => ({ ...n })),
    {
      redisOptions: { ...perNode, ...auth, ...tls },
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    },
  );
}
