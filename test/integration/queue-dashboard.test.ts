import { fixtures } from '../fixtures/images';
import { startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('queue dashboard at /admin/queues', () => {
  let stack: TestStack;
  let failedJobId: string;

  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, JOB_ATTEMPTS: '1' }, worker: true });
    // A truncated JPEG passes the upload checks and fails for good in the worker.
    const { body } = await stack.request.post('/process-images').attach('images', fixtures.truncatedJpeg).expect(202);
    failedJobId = body.jobs[0].jobId;
    await waitFor(async () => (await stack.api.ports.queue.getJobState(failedJobId)) === 'failed', { what: 'the job to fail' });
    // No worker from here on, so a retried job stays where the retry put it.
    await stack.stopWorker();
  });
  afterAll(() => stack.stop());

  it.each([
    ['no credentials', undefined],
    ['a wrong bearer token', 'Bearer not-the-admin-token'],
    ['basic auth with a wrong password', basic('ops', 'not-the-admin-token')],
    ['basic auth without a colon', `Basic ${Buffer.from(TEST_ADMIN_TOKEN).toString('base64')}`],
  ])('answers 401 UNAUTHORIZED with a Basic challenge to %s', async (_name, authorization) => {
    const req = stack.request.get('/admin/queues');
    const res = await (authorization ? req.set('Authorization', authorization) : req).expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="imgflow admin"/);
    expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('guards its API and static files too', async () => {
    await stack.request.get('/admin/queues/api/queues').expect(401);
    await stack.request.put(`/admin/queues/api/queues/images/${failedJobId}/retry`).expect(401);
    await stack.request.get('/admin/queues/static/favicon.ico').expect(401);
    // The same path is a file it serves: the 401 above is the guard, not a missing file.
    await stack.admin.get('/admin/queues/static/favicon.ico').expect(200);
  });

  it('serves the page to basic auth with any user and the token as password, under its own CSP', async () => {
    const res = await stack.request.get('/admin/queues').set('Authorization', basic('anyone', TEST_ADMIN_TOKEN)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<base href="/admin/queues/"');
    expect(res.text).toContain('imgflow queues');
    expect(res.headers['content-security-policy']).toContain('https://fonts.googleapis.com');
    // The rest of the site keeps the strict policy.
    expect((await stack.request.get('/healthz').expect(200)).headers['content-security-policy']).not.toContain('fonts.googleapis.com');
  });

  it('is in the OpenAPI document, with the bearer and basic schemes', async () => {
    const { body } = await stack.request.get('/openapi.json').expect(200);
    expect(body.paths['/admin/queues'].get.security).toEqual([{ adminToken: [] }, { adminBasic: [] }]);
    expect(body.components.securitySchemes.adminBasic).toMatchObject({ type: 'http', scheme: 'basic' });
  });

  it('lists every queue: images, dead letters and webhooks', async () => {
    const { body } = await stack.admin.get('/admin/queues/api/queues').expect(200);
    const names = (body.queues as { name: string; readOnlyMode: boolean }[]).map((q) => q.name).sort();
    expect(names).toEqual(['images', 'images-dead-letter', 'webhooks']);
    expect(body.queues.every((q: { readOnlyMode: boolean }) => !q.readOnlyMode)).toBe(true);
  });

  it('puts a failed job back to waiting when retried through its API', async () => {
    await stack.admin.put(`/admin/queues/api/queues/images/${failedJobId}/retry`).expect(204);
    expect(await stack.api.ports.queue.getJobState(failedJobId)).toBe('waiting');
  });
});

describe('queue dashboard with ADMIN_READ_ONLY=true', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ADMIN_READ_ONLY: 'true' } });
  });
  afterAll(() => stack.stop());

  it('shows the queues as read-only and refuses actions with 405', async () => {
    const { body } = await stack.admin.get('/admin/queues/api/queues').expect(200);
    expect(body.queues.map((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toEqual([true, true, true]);
    await stack.admin.put('/admin/queues/api/queues/images/retry/failed').expect(405);
    await stack.admin.put('/admin/queues/api/queues/images/pause').expect(405);
  });
});

describe('queue dashboard without ADMIN_TOKEN', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('is not mounted: 404 ROUTE_NOT_FOUND, to anyone', async () => {
    const res = await stack.request.get('/admin/queues').set('Authorization', basic('ops', TEST_ADMIN_TOKEN)).expect(404);
    expect(res.body).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });
});
