import { fixtures } from '../fixtures/images';
import { startStack, type TestStack } from '../helpers/stack';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('security defaults', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('sends helmet headers and no x-powered-by', async () => {
    const res = await stack.request.get('/healthz').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-request-id']).toMatch(/.+/);
  });

  it.each([
    ['over 16 KB', JSON.stringify({ pad: 'x'.repeat(20_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['malformed', '{"not": json', 400, 'INVALID_JSON'],
  ])('refuses a JSON body %s with a problem, never a 500', async (_case, body, status, code) => {
    const res = await stack.request.post('/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962/retry').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
  });

  it('sends no CORS header when no origin is configured', async () => {
    const res = await stack.request.get('/healthz').set('Origin', 'https://evil.example').expect(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await stack.request.options('/process-images').set('Origin', 'https://evil.example');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('issues unguessable UUID v4 ids and keeps paths and secrets out of job data', async () => {
    const res = await stack.request.post('/process-images').attach('images', fixtures.photoJpeg).attach('images', fixtures.rgbaPng).expect(202);
    expect(res.body.batchId).toMatch(UUID_V4);
    for (const job of res.body.jobs) {
      expect(job.jobId).toMatch(UUID_V4);
      const stored = await stack.api.ports.queue.getJob(job.jobId);
      const data = JSON.stringify(stored?.data);
      expect(data).not.toContain(stack.world.uploadDir);
      expect(data).not.toContain('redis://');
      expect(stored?.data.inputFile).toMatch(UUID_V4);
    }
  });
});

describe('CORS for configured origins', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { CORS_ORIGIN: 'https://app.example, https://admin.example' } });
  });
  afterAll(() => stack.stop());

  it('answers a preflight from an allowed origin and exposes Location', async () => {
    const res = await stack.request.options('/process-images').set('Origin', 'https://app.example').expect(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-expose-headers']).toContain('Location');
  });

  it('ignores other origins', async () => {
    const res = await stack.request.get('/healthz').set('Origin', 'https://evil.example').expect(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('ADMIN_TOKEN on operator routes', () => {
  let stack: TestStack;
  const token = 'a-long-enough-admin-token';
  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_TOKEN: token } });
  });
  afterAll(() => stack.stop());

  it.each([
    ['no token', undefined],
    ['a wrong token', 'Bearer not-the-admin-token-at-all'],
    ['the token without Bearer', token],
  ])('refuses /dead-letters with %s', async (_case, authorization) => {
    const req = stack.request.get('/dead-letters');
    if (authorization) req.set('Authorization', authorization);
    const res = await req.expect(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it('serves /dead-letters with the token, and leaves client routes open', async () => {
    await stack.request.get('/dead-letters').set('Authorization', `Bearer ${token}`).expect(200);
    await stack.request.post('/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962/retry').expect(401);
    await stack.request.get('/batches/3b241101-e2bb-4255-8caf-4136c566a962').expect(404);
  });
});

// NODE_ENV unset is how the README's `npm run start:api` runs: it must be as closed as production.
describe.each([
  ['unset', {}],
  ['development', { NODE_ENV: 'development' }],
  ['production', { NODE_ENV: 'production' }],
])('no ADMIN_TOKEN, NODE_ENV %s', (_env, env: Record<string, string>) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env });
  });
  afterAll(() => stack.stop());

  it.each<['get' | 'post', string]>([
    ['get', '/dead-letters'],
    ['post', '/dead-letters/3b241101-e2bb-4255-8caf-4136c566a962/retry'],
  ])('refuses %s %s with 401 UNAUTHORIZED saying to set ADMIN_TOKEN, whatever the client sends', async (method, url) => {
    const res = await stack.request[method](url).set('Authorization', 'Bearer a-long-enough-admin-token').expect(401);
    expect(res.body.code).toBe('UNAUTHORIZED');
    expect(res.body.detail).toMatch(/set ADMIN_TOKEN/);
  });

  it('leaves client routes open', async () => {
    await stack.request.get('/batches/3b241101-e2bb-4255-8caf-4136c566a962').expect(404);
  });
});
