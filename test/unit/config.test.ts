import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { AUTO_QUALITY_TARGET } from '../../src/pipeline/auto-quality';

/** The ConfigError loadConfig throws for `env`, or a failure if it does not throw one. */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`Expected loadConfig to throw a ConfigError for ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      http: { port: 3000 },
      logLevel: 'info',
      logQueueEvents: false,
      redis: { url: 'redis://127.0.0.1:6379', prefix: '{imgflow}', target: { mode: 'single', url: 'redis://127.0.0.1:6379' }, lostExitMs: 60_000 },
      uploads: { dir: path.resolve('uploads'), maxFiles: 10, maxFileSizeBytes: 5 * 1024 * 1024, allowSvg: false },
      processedDir: path.resolve('processed'),
      worker: { concurrency: 2 * availableParallelism(), lockDurationMs: 6000, stalledIntervalMs: 3000, progressAfterMs: 250 },
      launch: expect.objectContaining({ workerNice: 10 }),
      jobs: { attempts: 3, backoffMs: 1000 },
      storage: { driver: 'local' },
    });
  });

  describe('storage', () => {
    const s3 = { STORAGE_DRIVER: 's3', S3_BUCKET: 'images' };

    it('defaults a bucket to us-east-1, no prefix, virtual-hosted URLs and 15-minute signed URLs', () => {
      expect(loadConfig(s3).storage).toEqual({
        driver: 's3',
        s3: { endpoint: undefined, region: 'us-east-1', bucket: 'images', prefix: '', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false, urlTtlSeconds: 900 },
      });
    });

    it('reads every S3 setting', () => {
      const env = { ...s3, S3_ENDPOINT: 'http://minio:9000', S3_REGION: 'eu-west-1', S3_PREFIX: 'imgflow/prod/', S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret', S3_FORCE_PATH_STYLE: 'true', S3_URL_TTL_S: '60' };
      expect(loadConfig(env).storage).toEqual({
        driver: 's3',
        s3: { endpoint: 'http://minio:9000', region: 'eu-west-1', bucket: 'images', prefix: 'imgflow/prod/', accessKeyId: 'key', secretAccessKey: 'secret', forcePathStyle: true, urlTtlSeconds: 60 },
      });
    });

    it.each([
      ['no bucket', { STORAGE_DRIVER: 's3' }, /^S3_BUCKET: is required when STORAGE_DRIVER is s3$/],
      ['an unknown driver', { STORAGE_DRIVER: 'gcs' }, /^STORAGE_DRIVER: /],
      ['a bucket name S3 refuses', { ...s3, S3_BUCKET: 'Images_1' }, /^S3_BUCKET: a bucket name/],
      ['an endpoint that is not http(s)', { ...s3, S3_ENDPOINT: 'ftp://minio' }, /^S3_ENDPOINT: /],
      ['a prefix without its closing slash', { ...s3, S3_PREFIX: 'imgflow' }, /^S3_PREFIX: /],
      // A URL resolves . and .. segments away: a signed URL's path would no longer be the one signed.
      ['a prefix with a .. segment', { ...s3, S3_PREFIX: 'imgflow/../' }, /^S3_PREFIX: /],
      ['a prefix with a . segment', { ...s3, S3_PREFIX: './' }, /^S3_PREFIX: /],
      ['a TTL over S3\'s 7 days', { ...s3, S3_URL_TTL_S: '604801' }, /^S3_URL_TTL_S: /],
      ['a flag that is not true or false', { ...s3, S3_FORCE_PATH_STYLE: 'yes' }, /^S3_FORCE_PATH_STYLE: /],
      ['a key id without its secret', { ...s3, S3_ACCESS_KEY_ID: 'key' }, /^S3_SECRET_ACCESS_KEY: .*go together/],
    ])('refuses %s, naming the variable', (_name, env, line) => {
      expect(configErrorOf(env).problems).toEqual([expect.stringMatching(line)]);
    });

    it('never echoes the S3 credentials', () => {
      expect(configErrorOf({ ...s3, S3_SECRET_ACCESS_KEY: 'topsecret', S3_URL_TTL_S: '0' }).message).not.toContain('topsecret');
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('parses numbers and sizes from strings', () => {
    const config = loadConfig({ PORT: '8080', MAX_FILES: '3', MAX_FILE_SIZE_MB: '0.5', WORKER_CONCURRENCY: '4', JOB_ATTEMPTS: '5', JOB_BACKOFF_MS: '0' });
    expect(config.http.port).toBe(8080);
    expect(config.uploads).toMatchObject({ maxFiles: 3, maxFileSizeBytes: 512 * 1024 });
    expect(config.worker.concurrency).toBe(4);
    expect(loadConfig({ AUTO_QUALITY_TARGET: '0.985' }).transform.autoQualityTarget).toBe(0.985);
    expect(config.jobs).toMatchObject({ attempts: 5, backoffMs: 0 });
  });

  it('keeps resumable uploads beside the upload directory unless RESUMABLE_DIR says otherwise', () => {
    expect(loadConfig({}).resumable).toEqual({ dir: path.resolve('tus-uploads'), maxSizeBytes: 100 * 1024 * 1024, expiryMs: 24 * 3_600_000 });
    expect(loadConfig({ UPLOAD_DIR: '/data/in' }).resumable.dir).toBe(path.resolve('/data/tus-uploads'));
    expect(loadConfig({ RESUMABLE_DIR: '/spool/tus', MAX_RESUMABLE_SIZE_MB: '0.5', RESUMABLE_EXPIRY_HOURS: '0.5' }).resumable).toEqual({ dir: '/spool/tus', maxSizeBytes: 512 * 1024, expiryMs: 1_800_000 });
  });

  describe('Redis location', () => {
    it.each([
      ['REDIS_HOST and REDIS_PORT', { REDIS_HOST: 'cache.internal', REDIS_PORT: '6380' }, 'redis://cache.internal:6380'],
      ['REDIS_HOST alone (default port)', { REDIS_HOST: 'cache.internal' }, 'redis://cache.internal:6379'],
      ['a password', { REDIS_HOST: 'cache', REDIS_PASSWORD: 's3cret' }, 'redis://:s3cret@cache:6379'],
      ['a password with URL metacharacters, escaped', { REDIS_HOST: 'cache', REDIS_PASSWORD: 'p@ss:w/rd#1' }, 'redis://:p%40ss%3Aw%2Frd%231@cache:6379'],
      ['REDIS_URL, which wins over the parts', { REDIS_URL: 'redis://primary:7000', REDIS_HOST: 'ignored', REDIS_PORT: '1234' }, 'redis://primary:7000'],
      ['a TLS REDIS_URL', { REDIS_URL: 'rediss://user:pw@secure:6380/2' }, 'rediss://user:pw@secure:6380/2'],
    ])('derives redis.url from %s', (_name, env, url) => {
      expect(loadConfig(env).redis.url).toBe(url);
    });

    it('selects a Redis Cluster from REDIS_CLUSTER_NODES, with the credentials and TLS of the other settings', () => {
      const { target } = loadConfig({ REDIS_CLUSTER_NODES: 'a.internal:7000, b.internal:7001,[::1]:7002,c.internal', REDIS_USERNAME: 'app', REDIS_PASSWORD: 'pw', REDIS_TLS: 'true' }).redis;
      expect(target).toEqual({
        mode: 'cluster',
        nodes: [{ host: 'a.internal', port: 7000 }, { host: 'b.internal', port: 7001 }, { host: '::1', port: 7002 }, { host: 'c.internal', port: 6379 }],
        auth: { username: 'app', password: 'pw' },
        tls: true,
      });
    });

    it('takes TLS for a cluster from a rediss:// REDIS_URL', () => {
      expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'rediss://a:7000' }).redis.target).toMatchObject({ mode: 'cluster', tls: true });
    });

    it('selects Sentinel from REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
      const { target } = loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'spw', REDIS_PASSWORD: 'pw' }).redis;
      expect(target).toEqual({
        mode: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }],
        name: 'mymaster',
        sentinelPassword: 'spw',
        auth: { username: undefined, password: 'pw' },
        tls: false,
      });
    });

    it.each([
      ['a cluster prefix without a hash tag', { REDIS_CLUSTER_NODES: 'a:7000', QUEUE_PREFIX: 'imgflow' }, /^QUEUE_PREFIX: must hold a hash tag such as \{imgflow\}/],
      ['a cluster node that is not host:port', { REDIS_CLUSTER_NODES: 'a:7000,b:port' }, /^REDIS_CLUSTER_NODES: expected host:port but received "b:port"/],
      ['sentinels without the master name', { REDIS_SENTINELS: 's1:26379' }, /^REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS/],
      ['both a cluster and sentinels', { REDIS_CLUSTER_NODES: 'a:7000', REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINELS: set either/],
    ])('rejects %s', (_name, env, problem) => {
      expect(configErrorOf(env).problems).toEqual([expect.stringMatching(problem)]);
    });

    it('builds a URL that parses back to the same password', () => {
      const { url } = loadConfig({ REDIS_PASSWORD: 'p@ss:w/rd#1' }).redis;
      expect(decodeURIComponent(new URL(url).password)).toBe('p@ss:w/rd#1');
    });
  });

  describe('bad values', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['REDIS_PORT', '0'],
      ['REDIS_URL', 'http://example.com'],
      ['REDIS_URL', 'not a url'],
      ['MAX_FILES', '0'],
      ['MAX_FILES', '2.5'],
      ['MAX_FILE_SIZE_MB', '-1'],
      ['WORKER_CONCURRENCY', 'lots'],
      ['JOB_ATTEMPTS', '0'],
      ['JOB_BACKOFF_MS', '-5'],
      ['LOG_LEVEL', 'verbose'],
      ['QUEUE_PREFIX', 'has space'],
      ['ALLOW_SVG', 'yes'],
      ['NODE_ENV', 'staging'],
      ['ORPHAN_SWEEP_INTERVAL_MS', '-1'],
      ['ORPHAN_GRACE_MS', '0'],
      ['ONLY_PRESETS', 'yes'],
      ['MAX_VARIANTS', '0'],
      ['MAX_OUTPUT_PIXELS', '-1'],
      ['AUTO_QUALITY_TARGET', '0.4'],
      ['AUTO_QUALITY_TARGET', '1.01'],
      ['AUTO_QUALITY_TARGET', 'high'],
      ['MAX_RESUMABLE_SIZE_MB', '0'],
      ['RESUMABLE_EXPIRY_HOURS', '-1'],
    ])('rejects %s=%j with a ConfigError naming the variable', (name, value) => {
      const err = configErrorOf({ [name]: value });
      expect(err.problems).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
      expect(err.message).toContain(name);
    });

    it('rejects a RESUMABLE_DIR that is the upload or output directory', () => {
      expect(configErrorOf({ UPLOAD_DIR: '/data/in', RESUMABLE_DIR: '/data/in/' }).problems).toEqual([expect.stringMatching(/^RESUMABLE_DIR: must differ from UPLOAD_DIR/)]);
      expect(configErrorOf({ RESUMABLE_DIR: 'processed' }).problems).toEqual([expect.stringMatching(/^RESUMABLE_DIR: /)]);
    });

    it('rejects an ORPHAN_GRACE_MS that an upload in flight could outlast', () => {
      const err = configErrorOf({ REQUEST_TIMEOUT_MS: '120000', ORPHAN_GRACE_MS: '90000' });
      expect(err.problems).toEqual([expect.stringMatching(/^ORPHAN_GRACE_MS: must be longer than REQUEST_TIMEOUT_MS \(120000\).*but received "90000"$/)]);
    });

    it('does not echo a bad REDIS_URL, which may carry a password', () => {
      expect(configErrorOf({ REDIS_URL: 'http://user:topsecret@cache:6379' }).message).not.toContain('topsecret');
    });

    it('names every bad variable at once', () => {
      const err = configErrorOf({ PORT: 'x', MAX_FILES: 'y' });
      expect(err.problems.map((p) => p.split(':')[0]).sort()).toEqual(['MAX_FILES', 'PORT']);
    });
  });

  it.each([
    [{}, 360_000],
    [{ REQUEST_TIMEOUT_MS: '600000' }, 900_000],
    [{ REQUEST_TIMEOUT_MS: '600000', ORPHAN_GRACE_MS: '700000' }, 700_000],
  ])('gives orphan uploads a grace of REQUEST_TIMEOUT_MS plus five minutes unless set (%j)', (env, graceMs) => {
    expect(loadConfig(env).retention).toMatchObject({ orphanGraceMs: graceMs, orphanSweepIntervalMs: 600_000 });
  });

  it('treats empty strings (KEY= lines in .env) as unset', () => {
    const config = loadConfig({ PORT: '', REDIS_URL: '', REDIS_HOST: '', REDIS_PASSWORD: '', MAX_FILES: '', ALLOW_SVG: '', LOG_LEVEL: '' });
    expect(config).toMatchObject({ http: { port: 3000 }, redis: { url: 'redis://127.0.0.1:6379' }, uploads: { maxFiles: 10, allowSvg: false }, logLevel: 'info' });
  });

  it.each([
    ['false', false],
    ['true', true],
  ])("reads ALLOW_SVG='%s' as %s (not as any non-empty string)", (value, expected) => {
    expect(loadConfig({ ALLOW_SVG: value }).uploads.allowSvg).toBe(expected);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING_ELSE: 'x' })).not.toThrow();
  });

  describe('PRESETS_FILE', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'imgflow-presets-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const fileWith = (name: string, content: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    };

    it('defaults to no presets beyond the built-in ones, and the documented limits', () => {
      expect(loadConfig({}).transform).toEqual({ presets: {}, onlyPresets: false, maxVariants: 5, maxOutputPixels: 50_000_000, autoQualityTarget: AUTO_QUALITY_TARGET });
    });

    it('reads the presets of a valid file', () => {
      const file = fileWith('good.json', JSON.stringify({ poster: { width: 800, format: 'avif', quality: 'auto' } }));
      expect(loadConfig({ PRESETS_FILE: file }).transform.presets).toEqual({ poster: { width: 800, format: 'avif', quality: 'auto' } });
    });

    it.each([
      ['a width out of range', { poster: { width: 0 } }, /^PRESETS_FILE: preset "poster" field "width": .*>=1/],
      ['an unknown setting', { poster: { colour: 'red' } }, /^PRESETS_FILE: preset "poster": .*colour/],
      ['an unknown format', { poster: { format: 'bmp' } }, /^PRESETS_FILE: preset "poster" field "format": /],
      ['a name that cannot be a file name', { 'Big Poster': { width: 10 } }, /^PRESETS_FILE: .*preset name/],
      ['settings that do not go together', { poster: { format: 'png', quality: 'auto' } }, /^PRESETS_FILE: preset "poster" field "quality": "auto" needs/],
      ['a list instead of an object', [{ width: 10 }], /^PRESETS_FILE: /],
    ])('stops with a line naming the preset and the field for %s', (_name, content, line) => {
      const err = configErrorOf({ PRESETS_FILE: fileWith(`${_name}.json`, JSON.stringify(content)) });
      expect(err.problems).toEqual([expect.stringMatching(line)]);
    });

    it('stops on a file that is not JSON, or not there', () => {
      expect(configErrorOf({ PRESETS_FILE: fileWith('bad.json', '{ "poster": ') }).problems).toEqual([expect.stringMatching(/^PRESETS_FILE: expected a readable JSON file/)]);
      expect(configErrorOf({ PRESETS_FILE: path.join(dir, 'missing.json') }).problems).toEqual([expect.stringMatching(/^PRESETS_FILE: .*ENOENT/)]);
    });
  });

  describe('API keys and limits', () => {
    const HASH = 'a'.repeat(64);
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'imgflow-keys-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('has no keys and no limits by default', () => {
      const config = loadConfig({});
      expect(config.apiKeys).toEqual([]);
      expect(config.limits).toEqual({ requestsPerMin: 0, maxQueuedFiles: 0 });
    });

    it('reads API_KEYS as id:sha256 items, and API_KEYS_FILE as a JSON list', () => {
      expect(loadConfig({ API_KEYS: `a:${HASH}, b.2:${'b'.repeat(64)}` }).apiKeys).toEqual([{ id: 'a', sha256: HASH }, { id: 'b.2', sha256: 'b'.repeat(64) }]);
      const file = path.join(dir, 'keys.json');
      writeFileSync(file, JSON.stringify([{ id: 'acme', name: 'Acme Ltd', sha256: HASH }]));
      expect(loadConfig({ API_KEYS_FILE: file }).apiKeys).toEqual([{ id: 'acme', name: 'Acme Ltd', sha256: HASH }]);
    });

    it.each([
      ['a hash that is not 64 hex digits', { API_KEYS: 'a:1234' }, /^API_KEYS: item 1 \(sha256\): expected the key's SHA-256/],
      ['an item without an id', { API_KEYS: HASH }, /^API_KEYS: item 1 \(id\)/],
      ['a repeated id', { API_KEYS: `a:${HASH},a:${'b'.repeat(64)}` }, /^API_KEYS: item 2 \(id\): duplicate id/],
      ['no items at all', { API_KEYS: ' , ' }, /^API_KEYS: lists no keys/],
      ['both settings', { API_KEYS: `a:${HASH}`, API_KEYS_FILE: '/nonexistent.json' }, /^API_KEYS: set API_KEYS or API_KEYS_FILE, not both/],
    ])('stops on %s', (_what, env, line) => {
      expect(configErrorOf(env).problems).toEqual([expect.stringMatching(line)]);
    });

    it('stops on an API_KEYS_FILE entry that does not fit, naming the entry and field', () => {
      const file = path.join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify([{ id: 'ok', sha256: HASH }, { id: 'x', sha256: 'plain-key' }]));
      expect(configErrorOf({ API_KEYS_FILE: file }).problems).toEqual([expect.stringMatching(/^API_KEYS_FILE: entry 2 field "sha256": /)]);
    });

    it('reads the limits, 0 meaning off', () => {
      expect(loadConfig({ RATE_LIMIT_REQUESTS_PER_MIN: '120', MAX_QUEUED_FILES_PER_KEY: '0' }).limits).toEqual({ requestsPerMin: 120, maxQueuedFiles: 0 });
      expect(configErrorOf({ RATE_LIMIT_REQUESTS_PER_MIN: '-1' }).problems).toEqual([expect.stringMatching(/^RATE_LIMIT_REQUESTS_PER_MIN: /)]);
    });
  });
});
