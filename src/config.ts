import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { BASE_OUTPUT } from './pipeline/spec';
import { checkOutputSpec, PresetsFile } from './queue/output-settings';
import { AUTO_QUALITY_TARGET } from './pipeline/auto-quality';
import { ApiKeyList, parseApiKeysEnv, type ApiKeyEntry } from './api-keys';
import { parseRedisNodes, type RedisNode, type RedisTarget } from './queue/redis-target';

const int = () => z.coerce.number().int();
const NO_PRESETS: PresetsFile = {};
const NO_KEYS: readonly ApiKeyEntry[] = [];
const flag = () => z.enum(['true', 'false']).transform((v) => v === 'true');
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Never echoed in an error message: they are, or may embed, credentials. */
const SECRETS = new Set(['REDIS_URL', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'ADMIN_TOKEN', 'WEBHOOK_SECRET', 'METRICS_TOKEN', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
/** A Standard Webhooks secret: `whsec_` and 24–64 random bytes in base64, as the specification asks. */
const isWebhookSecret = (text: string) => {
  const key = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(text)?.[1];
  const bytes = key === undefined ? 0 : Buffer.from(key, 'base64').length;
  return bytes >= 24 && bytes <= 64;
};

/** A comma-separated `host:port` list, parsed into nodes. */
const redisNodes = () =>
  z.string().transform((text, ctx): RedisNode[] => {
    const nodes = parseRedisNodes(text);
    if (typeof nodes !== 'string') return nodes;
    ctx.addIssue({ code: 'custom', message: nodes });
    return z.NEVER;
  });
/** Redis Cluster hashes only the part of a key inside its first `{…}`: one tag in the prefix puts every key in one slot. */
const HASH_TAG = /^[^{]*\{[^}]+\}/;

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: int().min(0).max(65535).default(3000),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
    // Off by default: the API's reader of the queue's events only writes log lines (nothing acts
    // on them), and reading every job's events cost it CPU per image (BENCHMARKS.md, issue 12).
    LOG_QUEUE_EVENTS: flag().default(false),

    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    REDIS_HOST: z.string().min(1).default('127.0.0.1'),
    REDIS_PORT: int().min(1).max(65535).default(6379),
    REDIS_USERNAME: z.string().min(1).optional(),
    REDIS_PASSWORD: z.string().optional(),
    REDIS_TLS: flag().optional(),
    REDIS_CLUSTER_NODES: redisNodes().optional(),
    REDIS_SENTINELS: redisNodes().optional(),
    REDIS_SENTINEL_NAME: z.string().min(1).optional(),
    REDIS_SENTINEL_PASSWORD: z.string().optional(),
    // Braces make `imgflow` a hash tag, so the prefix works unchanged on a Redis Cluster.
    QUEUE_PREFIX: z.string().regex(/^[\w.{}-]+$/, 'letters, digits, _ . - { } only').default('{imgflow}'),
    REDIS_LOST_EXIT_S: int().positive().default(60),

    STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
    S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3–63 of a-z 0-9 . -').optional(),
    // No . or .. segment: a URL resolves them away, so a signed URL's path would not be the one signed.
    S3_PREFIX: z.string().regex(/^((?!\.{1,2}\/)[\w.-]+\/)*$/, "empty, or path segments of letters, digits, _ . - (not . or ..) each ending in '/'").default(''),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_FORCE_PATH_STYLE: flag().default(false),
    // Long enough to start a download or a direct upload, short enough that a leaked URL soon stops working (S3's limit is 7 days).
    S3_URL_TTL_S: int().min(1).max(604_800).default(900),
    UPLOAD_DIR: z.string().min(1).default('uploads'),
    PROCESSED_DIR: z.string().min(1).default('processed'),
    MAX_FILES: int().min(1).max(1000).default(10),
    MAX_FILE_SIZE_MB: z.coerce.number().positive().max(1024).default(5),
    MAX_INPUT_PIXELS: int().positive().default(100_000_000),
    ALLOW_SVG: flag().default(false),
    // Resumable (tus) uploads: partial uploads stay on the API's disk until completed or expired.
    RESUMABLE_DIR: z.string().min(1).optional(),
    MAX_RESUMABLE_SIZE_MB: z.coerce.number().positive().max(100 * 1024).default(100),
    RESUMABLE_EXPIRY_HOURS: z.coerce.number().positive().default(24),
    CORS_ORIGIN: z.string().optional(),
    REQUEST_TIMEOUT_MS: int().positive().default(60_000),
    HTTP_DRAIN_MS: int().nonnegative().default(10_000),
    ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
    API_KEYS_FILE: z.string().min(1).optional(),
    API_KEYS: z.string().optional(),
    // 0: off. Per API key, or per client address when no keys are configured; held in Redis, so every API process shares it.
    RATE_LIMIT_REQUESTS_PER_MIN: int().nonnegative().default(0),
    MAX_QUEUED_FILES_PER_KEY: int().nonnegative().default(0),
    ADMIN_READ_ONLY: flag().default(false),
    METRICS_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
    // 9464 is the port OpenTelemetry's Prometheus exporter uses; 0 serves no worker metrics.
    WORKER_METRICS_PORT: int().min(0).max(65535).default(9464),
    WORKER_METRICS_HOST: z.string().min(1).default('0.0.0.0'),

    PRESETS_FILE: z.string().min(1).optional(),
    ONLY_PRESETS: flag().default(false),
    MAX_VARIANTS: int().min(1).max(20).default(5),
    MAX_OUTPUT_PIXELS: int().positive().default(50_000_000),

    // Two images per core: with one libvips thread each, a second job fills the gaps while the
    // first waits on Redis or the disk (measured 0.94 vs 0.85 of the Sharp limit; BENCHMARKS.md).
    WORKER_CONCURRENCY: int().positive().max(256).default(2 * availableParallelism()),
    SHARP_THREADS: int().positive().max(256).default(1),
    // Most images take 20–60 ms: a progress write on those tells nobody anything their outcome
    // does not, and costs a Redis round trip and a stream entry per job (BENCHMARKS.md, issue 12).
    PROGRESS_AFTER_MS: int().nonnegative().default(250),
    JOB_ATTEMPTS: int().positive().max(100).default(3),
    JOB_BACKOFF_MS: int().nonnegative().default(1000),
    LOCK_DURATION_MS: int().min(1000).default(6000),
    STALLED_INTERVAL_MS: int().min(500).default(3000),
    MAX_STALLED_COUNT: int().nonnegative().default(3),
    WATCHDOG_IDLE_MS: int().min(1000).default(30_000),
    RECONCILE_INTERVAL_MS: int().min(100).default(15_000),
    AUTO_QUALITY_TARGET: z.coerce.number().min(0.5).max(1).default(AUTO_QUALITY_TARGET),

    ALLOW_PRIVATE_URLS: flag().default(false),
    MAX_URLS: int().min(1).max(10_000).default(100),
    // Downloads by the worker (POST /process-urls): a slow host holds at most FETCH_PER_HOST of
    // the FETCH_CONCURRENCY download slots, which sit beside the Sharp slots, not in them.
    FETCH_CONCURRENCY: int().positive().max(256).default(8),
    FETCH_PER_HOST: int().positive().max(256).default(4),
    FETCH_CONNECT_TIMEOUT_MS: int().positive().max(60_000).default(5000),
    FETCH_TIMEOUT_MS: int().positive().max(600_000).default(30_000),
    WEBHOOK_SECRET: z.string().refine(isWebhookSecret, 'expected whsec_ followed by 24–64 random bytes in base64 (e.g. `echo whsec_$(openssl rand -base64 32)`)').optional(),
    WEBHOOK_ATTEMPTS: int().min(1).max(50).default(10),
    // Doubling from 10 s, ten attempts span 85 minutes: a receiver down for an hour still gets its webhooks.
    WEBHOOK_BACKOFF_MS: int().nonnegative().default(10_000),
    WEBHOOK_TIMEOUT_MS: int().positive().max(60_000).default(10_000),
    WEBHOOK_CONCURRENCY: int().positive().max(256).default(10),
    WEBHOOK_RELAY_INTERVAL_MS: int().min(10).default(500),

    RETENTION_HOURS: z.coerce.number().positive().default(24),
    UPLOAD_RETENTION_HOURS: z.coerce.number().positive().default(168),
    RETENTION_MAX_JOBS: int().positive().default(100_000),
    // An upload becomes referenced only once its whole request has arrived and its batch is
    // enqueued; the default covers the longest request plus five minutes for the enqueue and clock skew.
    ORPHAN_GRACE_MS: int().optional(),
    ORPHAN_SWEEP_INTERVAL_MS: int().nonnegative().default(600_000),
    SHUTDOWN_TIMEOUT_MS: int().positive().default(30_000),

    REDIS_DATA_DIR: z.string().min(1).default('.redis-data'),
    // The API shares the machine under `npm start`: upload p50 under load 1.14x idle at nice 10
    // against 1.67x at 0, for about 2% of worker throughput (BENCHMARKS.md).
    WORKER_NICE: int().min(0).max(19).default(10),
  })
  .superRefine((env, ctx) => {
    if (env.STORAGE_DRIVER === 's3' && env.S3_BUCKET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'is required when STORAGE_DRIVER is s3' });
    }
    if ((env.S3_ACCESS_KEY_ID === undefined) !== (env.S3_SECRET_ACCESS_KEY === undefined)) {
      ctx.addIssue({ code: 'custom', path: [env.S3_ACCESS_KEY_ID === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'], message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together (neither: the AWS default credential chain)' });
    }
    if (env.API_KEYS_FILE !== undefined && env.API_KEYS !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: 'set API_KEYS or API_KEYS_FILE, not both' });
    }
    if (env.REDIS_CLUSTER_NODES && env.REDIS_SENTINELS) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINELS'], message: 'set either REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both' });
    }
    if (env.REDIS_CLUSTER_NODES && !HASH_TAG.test(env.QUEUE_PREFIX)) {
      ctx.addIssue({
        code: 'custom',
        path: ['QUEUE_PREFIX'],
        message: `must hold a hash tag such as {${env.QUEUE_PREFIX.replace(/[{}]/g, '')}} on a Redis Cluster, or BullMQ's scripts would touch keys in several slots`,
      });
    }
    if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_NAME'], message: 'is required with REDIS_SENTINELS: the name of the master the sentinels watch' });
    }
    const resumable = env.RESUMABLE_DIR === undefined ? undefined : path.resolve(env.RESUMABLE_DIR);
    if (resumable !== undefined && [env.UPLOAD_DIR, env.PROCESSED_DIR].some((dir) => path.resolve(dir) === resumable)) {
      ctx.addIssue({ code: 'custom', path: ['RESUMABLE_DIR'], message: 'must differ from UPLOAD_DIR and PROCESSED_DIR, whose sweeps would remove uploads still arriving' });
    }
    if (env.ORPHAN_GRACE_MS !== undefined && env.ORPHAN_GRACE_MS <= env.REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ORPHAN_GRACE_MS'],
        message: `must be longer than REQUEST_TIMEOUT_MS (${env.REQUEST_TIMEOUT_MS}), or uploads still arriving would be deleted`,
      });
    }
  })
  .transform((env) => ({
    env: env.NODE_ENV,
    http: {
      host: env.HOST,
      port: env.PORT,
      corsOrigin: env.CORS_ORIGIN,
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
      drainMs: env.HTTP_DRAIN_MS,
      adminToken: env.ADMIN_TOKEN,
      /** The queue dashboard (/admin/queues, only with ADMIN_TOKEN) shows but cannot act. */
      adminReadOnly: env.ADMIN_READ_ONLY,
    },
    /** Read and checked by loadConfig; empty: no keys, every route open as before. */
    apiKeys: NO_KEYS,
    apiKeysSource: { file: env.API_KEYS_FILE === undefined ? undefined : path.resolve(env.API_KEYS_FILE), list: env.API_KEYS },
    limits: { requestsPerMin: env.RATE_LIMIT_REQUESTS_PER_MIN, maxQueuedFiles: env.MAX_QUEUED_FILES_PER_KEY },
    /** GET /metrics on the API, and the worker's own endpoint (port 0: none). */
    metrics: {
      token: env.METRICS_TOKEN,
      workerPort: env.WORKER_METRICS_PORT,
      workerHost: env.WORKER_METRICS_HOST,
    },
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    /** The API logs each job's completion or failure and each finished batch. */
    logQueueEvents: env.LOG_QUEUE_EVENTS,
    redis: {
      ...redisTarget(env),
      prefix: env.QUEUE_PREFIX,
      /** A worker cut off from Redis this long exits (75) for its supervisor to start a fresh one. */
      lostExitMs: env.REDIS_LOST_EXIT_S * 1000,
    },
    uploads: {
      dir: path.resolve(env.UPLOAD_DIR),
      maxFiles: env.MAX_FILES,
      maxFileSizeBytes: Math.floor(env.MAX_FILE_SIZE_MB * 1024 * 1024),
      maxInputPixels: env.MAX_INPUT_PIXELS,
      allowSvg: env.ALLOW_SVG,
    },
    processedDir: path.resolve(env.PROCESSED_DIR),
    /** Where uploads and outputs live: UPLOAD_DIR and PROCESSED_DIR, or one bucket under `uploads/` and `processed/`. */
    storage:
      env.STORAGE_DRIVER === 's3' && env.S3_BUCKET !== undefined
        ? {
            driver: 's3' as const,
            s3: {
              endpoint: env.S3_ENDPOINT,
              region: env.S3_REGION,
              bucket: env.S3_BUCKET,
              prefix: env.S3_PREFIX,
              accessKeyId: env.S3_ACCESS_KEY_ID,
              secretAccessKey: env.S3_SECRET_ACCESS_KEY,
              forcePathStyle: env.S3_FORCE_PATH_STYLE,
              urlTtlSeconds: env.S3_URL_TTL_S,
            },
          }
        : { driver: 'local' as const },
    /** tus uploads (POST /uploads/tus): where their parts are written, how large one may be, and when an unfinished or uncompleted one is removed. */
    resumable: {
      // Beside the upload directory by default, so handing a finished upload over is a hard link on the same disk.
      dir: path.resolve(env.RESUMABLE_DIR ?? path.join(path.dirname(path.resolve(env.UPLOAD_DIR)), 'tus-uploads')),
      maxSizeBytes: Math.floor(env.MAX_RESUMABLE_SIZE_MB * 1024 * 1024),
      expiryMs: Math.round(env.RESUMABLE_EXPIRY_HOURS * 3_600_000),
    },
    transform: {
      /** Added to (or replacing) the built-in presets; read and checked by loadConfig. */
      presets: NO_PRESETS,
      onlyPresets: env.ONLY_PRESETS,
      maxVariants: env.MAX_VARIANTS,
      maxOutputPixels: env.MAX_OUTPUT_PIXELS,
      autoQualityTarget: env.AUTO_QUALITY_TARGET,
    },
    presetsFile: env.PRESETS_FILE === undefined ? undefined : path.resolve(env.PRESETS_FILE),
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      sharpThreads: env.SHARP_THREADS,
      /** A job reports progress only once it has run this long (0: every report at once). */
      progressAfterMs: env.PROGRESS_AFTER_MS,
      lockDurationMs: env.LOCK_DURATION_MS,
      stalledIntervalMs: env.STALLED_INTERVAL_MS,
      maxStalledCount: env.MAX_STALLED_COUNT,
      watchdogIdleMs: env.WATCHDOG_IDLE_MS,
      reconcileIntervalMs: env.RECONCILE_INTERVAL_MS,
    },
    jobs: {
      attempts: env.JOB_ATTEMPTS,
      backoffMs: env.JOB_BACKOFF_MS,
      retentionSeconds: Math.round(env.RETENTION_HOURS * 3600),
      retentionMaxJobs: env.RETENTION_MAX_JOBS,
    },
    /** Every outbound request (src/net): ALLOW_PRIVATE_URLS lifts the address check. */
    outbound: { allowPrivate: env.ALLOW_PRIVATE_URLS },
    /** POST /process-urls: how many URLs a request may hold, and the CSV file's size. */
    urls: { maxUrls: env.MAX_URLS, maxCsvBytes: 1024 * 1024 },
    /** The worker's downloads of URL jobs: every one through the guarded client. */
    fetch: {
      concurrency: env.FETCH_CONCURRENCY,
      perHost: env.FETCH_PER_HOST,
      connectTimeoutMs: env.FETCH_CONNECT_TIMEOUT_MS,
      timeoutMs: env.FETCH_TIMEOUT_MS,
      maxRedirects: 5,
    },
    /** Without a secret, uploads with a callbackUrl are refused and no webhook worker runs. */
    webhooks: {
      secret: env.WEBHOOK_SECRET,
      attempts: env.WEBHOOK_ATTEMPTS,
      backoffMs: env.WEBHOOK_BACKOFF_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      concurrency: env.WEBHOOK_CONCURRENCY,
      relayIntervalMs: env.WEBHOOK_RELAY_INTERVAL_MS,
      retentionSeconds: Math.round(env.RETENTION_HOURS * 3600),
    },
    retention: {
      processedSeconds: Math.round(env.RETENTION_HOURS * 3600),
      uploadSeconds: Math.round(env.UPLOAD_RETENTION_HOURS * 3600),
      orphanGraceMs: env.ORPHAN_GRACE_MS ?? env.REQUEST_TIMEOUT_MS + 300_000,
      /** 0: no orphan sweep. */
      orphanSweepIntervalMs: env.ORPHAN_SWEEP_INTERVAL_MS,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // Read only by `npm start` (src/launch.ts): where its private redis-server keeps its data, and
    // how far it lowers the worker's OS priority so uploads stay responsive while images are processed.
    launch: {
      redisDataDir: path.resolve(env.REDIS_DATA_DIR),
      workerNice: env.WORKER_NICE,
    },
  }));

// Where the keys come from is loadConfig's business; the rest of the code sees the checked list.
export type Config = Readonly<Omit<z.output<typeof EnvSchema>, 'apiKeysSource'>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

function redisUrlFromParts(host: string, port: number, username: string | undefined, password: string | undefined, tls: boolean): string {
  const user = username ? encodeURIComponent(username) : '';
  const auth = password ? `${user}:${encodeURIComponent(password)}@` : user ? `${user}@` : '';
  return `${tls ? 'rediss' : 'redis'}://${auth}${host}:${port}`;
}

interface RedisEnv {
  REDIS_URL?: string | undefined;
  REDIS_HOST: string;
  REDIS_PORT: number;
  REDIS_USERNAME?: string | undefined;
  REDIS_PASSWORD?: string | undefined;
  REDIS_TLS?: boolean | undefined;
  REDIS_CLUSTER_NODES?: RedisNode[] | undefined;
  REDIS_SENTINELS?: RedisNode[] | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
}

/**
 * One `target` whatever form Redis was given in. `url` is kept for the single-server form only
 * (the launcher starts a private server there, tests reach their Redis through it); a `rediss://`
 * REDIS_URL turns TLS on for the cluster and sentinel forms too, as REDIS_TLS=true does.
 */
function redisTarget(env: RedisEnv): { url: string; target: RedisTarget } {
  const tls = env.REDIS_TLS ?? env.REDIS_URL?.startsWith('rediss:') ?? false;
  const url = env.REDIS_URL ?? redisUrlFromParts(env.REDIS_HOST, env.REDIS_PORT, env.REDIS_USERNAME, env.REDIS_PASSWORD, tls);
  const auth = { username: env.REDIS_USERNAME, password: env.REDIS_PASSWORD };
  if (env.REDIS_CLUSTER_NODES) return { url, target: { mode: 'cluster', nodes: env.REDIS_CLUSTER_NODES, auth, tls } };
  if (env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME) {
    return { url, target: { mode: 'sentinel', sentinels: env.REDIS_SENTINELS, name: env.REDIS_SENTINEL_NAME, sentinelPassword: env.REDIS_SENTINEL_PASSWORD, auth, tls } };
  }
  return { url, target: { mode: 'single', url } };
}

/** Validates the environment once, at start-up; the only reader of process.env. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // Empty strings come from `KEY=` lines in .env files; treat them as unset so defaults apply.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join('.');
        const shown = name in present && !SECRETS.has(name);
        return shown ? `${name}: ${i.message}, but received ${JSON.stringify(present[name])}` : `${name}: ${i.message}`;
      }),
    );
  }
  const { presetsFile, apiKeysSource, ...config } = parsed.data;
  return Object.freeze({
    ...config,
    presetsFile,
    apiKeys: loadApiKeys(apiKeysSource),
    transform: { ...config.transform, presets: loadPresetsFile(presetsFile) },
  });
}

/** API_KEYS_FILE or API_KEYS: a bad entry stops the process naming it, never printing more than its hash. */
function loadApiKeys(source: { file: string | undefined; list: string | undefined }): readonly ApiKeyEntry[] {
  if (source.list !== undefined) {
    const parsed = parseApiKeysEnv(source.list);
    if ('problems' in parsed) throw new ConfigError(parsed.problems.map((p) => `API_KEYS: ${p} (expected id:sha256,…; \`npm run key:create -- NAME\` prints one)`));
    return Object.freeze(parsed.entries);
  }
  if (source.file === undefined) return NO_KEYS;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(source.file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`API_KEYS_FILE: expected a readable JSON file but ${source.file} gave: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = ApiKeyList.safeParse(json);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `API_KEYS_FILE: ${i.path.length ? `entry ${Number(i.path[0]) + 1}${i.path[1] === undefined ? '' : ` field "${String(i.path[1])}"`}: ` : ''}${i.message} (expected [{ "id", "name", "sha256" }])`));
  if (parsed.data.length === 0) throw new ConfigError([`API_KEYS_FILE: ${source.file} lists no keys; unset API_KEYS_FILE to run without keys`]);
  return Object.freeze(parsed.data);
}

/**
 * PRESETS_FILE, checked with the schema of every output's settings: a bad file stops the
 * process with one line per problem, naming the preset and the field.
 */
function loadPresetsFile(file: string | undefined): PresetsFile {
  if (file === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([`PRESETS_FILE: expected a readable JSON file but ${file} gave: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = PresetsFile.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const [preset, ...field] = i.path.map(String);
        const message = i.code === 'invalid_key' ? 'expected a preset name of 1–32 a-z and 0-9 (it names output files)' : i.message;
        if (preset === undefined) return `PRESETS_FILE: ${message}`;
        return field.length ? `PRESETS_FILE: preset "${preset}" field "${field.join('.')}": ${message}` : `PRESETS_FILE: preset "${preset}": ${message}`;
      }),
    );
  }
  const problems = Object.entries(parsed.data).flatMap(([name, settings]) =>
    checkOutputSpec({ ...BASE_OUTPUT, ...settings }).map((i) => `PRESETS_FILE: preset "${name}" field "${i.path}": ${i.message}`),
  );
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(parsed.data);
}
