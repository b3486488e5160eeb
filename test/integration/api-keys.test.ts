import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { redactAccessToken } from '../../src/api/api-key-auth';
import { closeServer, listen } from '../../src/api/server';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { filesIn } from '../helpers/http';
import { rawRequest } from '../helpers/raw-http';
import { startStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack';

// Each key comes from the real command, a tsx child process: a second or two.
jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('API keys (API_KEYS)', () => {
  let stack: TestStack;
  let alice: CreatedKey;
  beforeAll(async () => {
    alice = await createKey('Alice');
    const bob = await createKey('Bob');
    stack = await startStack({ env: { API_KEYS: `${alice.env},${bob.env}`, ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  });
  afterAll(() => stack.stop());

  it('key:create prints a random imgf_ key once, with the entry and env item holding its SHA-256', async () => {
    expect(alice.key).toMatch(/^imgf_[\w-]{43}$/);
    expect(alice.entry).toEqual({ id: 'alice', name: 'Alice', sha256: sha256(alice.key) });
    expect(alice.env).toBe(`alice:${sha256(alice.key)}`);
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'key:create', '--', 'Carol Smith'], { cwd: ROOT });
    const [, key, , entry, , env] = stdout.split('\n').map((line) => line.trim());
    expect(JSON.parse(entry ?? '')).toEqual({ id: 'carol-smith', name: 'Carol Smith', sha256: sha256(key ?? '') });
    expect(env).toBe(`carol-smith:${sha256(key ?? '')}`);
  });

  it.each(['/limits', '/presets', '/batches/3b241101-e2bb-4255-8caf-4136c566a962', '/jobs/3b241101-e2bb-4255-8caf-4136c566a962/result', '/no-such-route'])(
    'answers GET %s without a key with 401 UNAUTHENTICATED and WWW-Authenticate: Bearer',
    async (route) => {
      const res = await stack.request.get(route).expect(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="imgflow"$/);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    },
  );

  it('refuses an upload without a key before reading its body, and stores nothing', async () => {
    const server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
    try {
      // A body announced and never sent: only an answer given before reading it can arrive.
      const outcome = await rawRequest({
        port: (server.address() as AddressInfo).port,
        path: '/process-images',
        headers: { 'Content-Type': 'multipart/form-data; boundary=x', 'Content-Length': String(4 * 1024 * 1024) },
        chunks: [],
        waitMs: 5000,
      });
      expect({ status: outcome.status, code: outcome.body?.code }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    } finally {
      await closeServer(server, 0);
    }
    const res = await stack.request.post('/process-images').attach('images', Buffer.alloc(1024), 'a.jpg').expect(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect(filesIn(stack.world.uploadDir)).toEqual([]);
  });

  it.each([
    ['an unknown key', { 'X-API-Key': 'imgf_not-a-key' }],
    ['a key hash instead of the key', { Authorization: `Bearer ${sha256('x')}` }],
    ['Basic credentials', { Authorization: 'Basic YTpi' }],
  ])('refuses %s with 401 UNAUTHENTICATED', async (_what, headers) => {
    const res = await stack.request.get('/limits').set(headers).expect(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['Authorization: Bearer', (key: string) => ({ Authorization: `Bearer ${key}` })],
    ['X-API-Key', (key: string) => ({ 'X-API-Key': key })],
  ])('accepts the key in %s', async (_how, headers) => {
    await stack.request.get('/limits').set(headers(alice.key)).expect(200);
  });

  it('takes the key as ?access_token= on the events route only, which a browser\'s EventSource calls without headers', async () => {
    const batch = '3b241101-e2bb-4255-8caf-4136c566a962';
    // Accepted: the batch is simply not there.
    expect((await stack.request.get(`/batches/${batch}/events?access_token=${alice.key}`).expect(404)).body.code).toBe('BATCH_NOT_FOUND');
    expect((await stack.request.get(`/batches/${batch}?access_token=${alice.key}`).expect(401)).body.code).toBe('UNAUTHENTICATED');
    expect((await stack.request.get(`/limits?access_token=${alice.key}`).expect(401)).body.code).toBe('UNAUTHENTICATED');
  });

  it('needs a key on the operator routes too, in X-API-Key beside the admin token in Authorization', async () => {
    expect((await stack.admin.get('/dead-letters').expect(401)).body.code).toBe('UNAUTHENTICATED');
    await stack.admin.get('/dead-letters').set('X-API-Key', alice.key).expect(200);
    expect((await stack.request.get('/dead-letters').set('X-API-Key', alice.key).expect(401)).body.code).toBe('UNAUTHORIZED');
  });

  it('leaves the queue dashboard to its admin token: a browser cannot send a key beside basic auth', async () => {
    await stack.admin.get('/admin/queues').expect(200);
    await stack.request.get('/admin/queues').expect(401);
  });

  it('redacts an access_token from the URLs it logs', () => {
    expect(redactAccessToken(`/batches/x/events?after=1&access_token=${alice.key}&b=2`)).toBe('/batches/x/events?after=1&access_token=[redacted]&b=2');
  });

  it.each(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/'])('serves %s without a key (/metrics has METRICS_TOKEN for that)', async (route) => {
    await stack.request.get(route).expect(200);
  });

  it('documents both ways of sending a key in the OpenAPI document', async () => {
    const doc = (await stack.request.get('/openapi.json').expect(200)).body;
    expect(doc.components.securitySchemes).toMatchObject({ apiKey: { type: 'http', scheme: 'bearer' }, apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' } });
    expect(doc.paths['/batches/{batchId}'].get.responses['401'].description).toMatch(/`UNAUTHENTICATED`/);
    expect(doc.paths['/process-images'].post.responses['429'].description).toBe("`QUOTA_EXCEEDED`: Too many files queued; `RATE_LIMITED`: Too many requests");
    expect(doc.paths['/dead-letters'].get.responses['401'].description).toBe("`UNAUTHENTICATED`: Missing or wrong credentials; `UNAUTHORIZED`: Missing or wrong admin token");
    expect(Object.keys(doc.paths['/healthz'].get.responses)).toEqual(['200']);
  });
});

describe('without API keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('serves every route as before, without asking for a key', async () => {
    const res = await stack.request.get('/limits').expect(200);
    expect(res.headers['www-authenticate']).toBeUndefined();
  });
});
