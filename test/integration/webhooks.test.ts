import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { fixtures } from '../fixtures/images';
import { startStack, TEST_ADMIN_TOKEN, waitFor, type TestStack } from '../helpers/stack';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../helpers/webhook-receiver';

// Retries use a 100 ms backoff here, but a loaded 2-core machine can stretch a waitFor past jest's 5 s default.
jest.setTimeout(30_000);

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** Verified with the Standard Webhooks library, as a receiver would; throws on a bad signature. */
function verified(hook: ReceivedWebhook, secret = SECRET): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(hook.body, hook.headers as Record<string, string>) as { type: string; timestamp: string; data: Record<string, unknown> };
}

describe('webhooks to a real receiver (ALLOW_PRIVATE_URLS=true)', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver((path, nth) => {
      if (path === '/flaky') return nth === 1 ? 500 : 200;
      if (path === '/down') return 500;
      if (path === '/gone') return 410;
      return 204;
    });
    stack = await startStack({
      worker: true,
      env: {
        ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_ATTEMPTS: '3',
        WEBHOOK_BACKOFF_MS: '100',
        WEBHOOK_RELAY_INTERVAL_MS: '50',
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      },
    });
  });
  afterAll(async () => {
    await stack.stop();
    await receiver.stop();
  });

  const upload = async (path: string, fields: Record<string, string> = {}, files: string[] = [fixtures.smallPhotoJpeg]) => {
    const req = stack.request.post('/process-images').field('callbackUrl', `${receiver.url}${path}`);
    for (const [name, value] of Object.entries(fields)) req.field(name, value);
    for (const file of files) req.attach('images', file);
    return (await req.expect(202)).body as { batchId: string };
  };
  const deliveries = async (query: string) => (await stack.admin.get(`/webhooks/deliveries?${query}`).expect(200)).body as { total: number; items: Array<Record<string, unknown>> };
  /** The batch's one delivery, once it has `status`. */
  const settled = (batchId: string, status: string) =>
    waitFor(async () => {
      const page = await deliveries(`batchId=${batchId}&status=${status}`);
      return page.total === 1 && page.items[0];
    }, { what: `the delivery to be ${status}` });

  it('sends one signed batch.completed whose data is the batch as GET /batches serves it', async () => {
    const { batchId } = await upload('/ok');
    const [hook] = await waitFor(async () => receiver.at('/ok').length > 0 && receiver.at('/ok'), { what: 'the webhook' });
    const event = verified(hook!);
    expect(event.type).toBe('batch.completed');
    expect(event.data).toEqual((await stack.request.get(`/batches/${batchId}`).expect(200)).body);
    expect(hook!.headers['webhook-id']).toMatch(new RegExp(`^msg_${batchId}_\\d+$`));
    // The same check refuses a body changed in transit, and a receiver holding another secret.
    expect(() => verified({ ...hook!, body: hook!.body.replace('completed', 'failed') })).toThrow();
    expect(() => verified(hook!, `whsec_${randomBytes(32).toString('base64')}`)).toThrow();
  });

  it('with callbackEvents=batch,file sends each file, then the batch', async () => {
    const { batchId } = await upload('/files', { callbackEvents: 'batch,file' }, [fixtures.smallPhotoJpeg, fixtures.truncatedJpeg]);
    const hooks = await waitFor(async () => receiver.at('/files').length >= 3 && receiver.at('/files'), { what: 'three webhooks' });
    const events = hooks.map((h) => verified(h));
    expect(events.map((e) => e.type).sort()).toEqual(['batch.completed-with-errors', 'file.completed', 'file.failed']);
    expect(events.at(-1)?.type).toBe('batch.completed-with-errors');
    const failed = events.find((e) => e.type === 'file.failed');
    expect(failed?.data).toMatchObject({ batchId, state: 'failed', failedReason: expect.stringMatching(/^[A-Z_]+:/) });
    expect(new Set(hooks.map((h) => h.headers['webhook-id'])).size).toBe(3);
  });

  it('retries a 500 and delivers once, under the same webhook-id', async () => {
    const { batchId } = await upload('/flaky');
    const delivered = await settled(batchId, 'delivered');
    const hooks = receiver.at('/flaky');
    expect(hooks).toHaveLength(2);
    expect(hooks[0]!.headers['webhook-id']).toBe(hooks[1]!.headers['webhook-id']);
    expect(hooks.map((h) => verified(h).type)).toEqual(['batch.completed', 'batch.completed']);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200, lastError: null, type: 'batch.completed' });
  });

  it('lists a receiver that always fails as failed, with its last answer, and replays it', async () => {
    const { batchId } = await upload('/down');
    const failed = await settled(batchId, 'failed');
    expect(failed).toMatchObject({ attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    expect(String(failed.lastResponse)).toHaveLength(1024);
    expect(receiver.at('/down')).toHaveLength(3);

    await stack.admin.post(`/webhooks/deliveries/${String(failed.id)}/replay`).expect(202);
    await waitFor(async () => receiver.at('/down').length === 6, { what: 'the replay to be sent' });
    const ids = new Set(receiver.at('/down').map((h) => h.headers['webhook-id']));
    expect(ids).toEqual(new Set([failed.id]));
    // Every attempt is signed afresh; all of them verify.
    for (const hook of receiver.at('/down')) expect(verified(hook).type).toBe('batch.completed');
  });

  it('stops at 410 Gone', async () => {
    const { batchId } = await upload('/gone');
    const failed = await settled(batchId, 'failed');
    expect(failed).toMatchObject({ attempts: 1, lastStatusCode: 410 });
    expect(receiver.at('/gone')).toHaveLength(1);
  });

  it('keeps the operator routes behind the admin token', async () => {
    await stack.request.get('/webhooks/deliveries').expect(401);
    await stack.request.post('/webhooks/deliveries/msg_x_1/replay').expect(401);
    const res = await stack.admin.post(`/webhooks/deliveries/msg_${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}_9/replay`).expect(404);
    expect(res.body.code).toBe('DELIVERY_NOT_FOUND');
  });

  it.each([
    ['ftp://127.0.0.1/hook', 'CALLBACK_URL_REFUSED'],
    ['http://user:pw@127.0.0.1/hook', 'CALLBACK_URL_REFUSED'],
    ['not a url', 'CALLBACK_URL_REFUSED'],
  ])('refuses callbackUrl %s with 400 %s and queues nothing', async (url, code) => {
    const before = await stack.api.ports.queue.count();
    const res = await stack.request.post('/process-images').field('callbackUrl', url).attach('images', fixtures.smallPhotoJpeg).expect(400);
    expect(res.body.code).toBe(code);
    expect(await stack.api.ports.queue.count()).toBe(before);
  });

  it('refuses callbackEvents without a callbackUrl, and an unknown value', async () => {
    expect((await stack.request.post('/process-images').field('callbackEvents', 'batch').attach('images', fixtures.smallPhotoJpeg).expect(400)).body.code).toBe('INVALID_OPTIONS');
    expect((await stack.request.post('/process-images').field('callbackUrl', `${receiver.url}/x`).field('callbackEvents', 'file').attach('images', fixtures.smallPhotoJpeg).expect(400)).body.code).toBe('INVALID_OPTIONS');
  });
});

describe('the SSRF guard on callbacks (ALLOW_PRIVATE_URLS unset)', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({ worker: true, env: { WEBHOOK_SECRET: SECRET, WEBHOOK_BACKOFF_MS: '100', WEBHOOK_RELAY_INTERVAL_MS: '50', ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  });
  afterAll(async () => {
    await stack.stop();
    await receiver.stop();
  });

  it.each([['127.0.0.1'], ['[::1]'], ['2130706433'], ['0x7f.1'], ['[::ffff:127.0.0.1]']])('refuses a loopback callback %s at upload: 400 CALLBACK_URL_REFUSED', async (host) => {
    const res = await stack.request.post('/process-images').field('callbackUrl', `http://${host}:${receiver.port}/hook`).attach('images', fixtures.smallPhotoJpeg).expect(400);
    expect(res.body.code).toBe('CALLBACK_URL_REFUSED');
    expect(await stack.api.ports.queue.count()).toBe(0);
  });

  it('refuses a host name that resolves to loopback at delivery, for good, without connecting', async () => {
    const { body } = await stack.request.post('/process-images').field('callbackUrl', `http://localhost:${receiver.port}/hook`).attach('images', fixtures.smallPhotoJpeg).expect(202);
    const failed = await waitFor(async () => {
      const page = (await stack.admin.get(`/webhooks/deliveries?batchId=${body.batchId}&status=failed`).expect(200)).body;
      return page.total === 1 && page.items[0];
    }, { what: 'the delivery to be refused' });
    expect(failed).toMatchObject({ attempts: 1, lastStatusCode: null, lastError: expect.stringMatching(/^PRIVATE_ADDRESS: .*loopback/) });
    expect(receiver.connections()).toBe(0);
  });
});

describe('callbacks on a server without WEBHOOK_SECRET', () => {
  it('are refused with 400 WEBHOOKS_NOT_CONFIGURED', async () => {
    const stack = await startStack({ env: { ALLOW_PRIVATE_URLS: 'true' } });
    try {
      const res = await stack.request.post('/process-images').field('callbackUrl', 'https://example.com/hook').attach('images', fixtures.smallPhotoJpeg).expect(400);
      expect(res.body.code).toBe('WEBHOOKS_NOT_CONFIGURED');
    } finally {
      await stack.stop();
    }
  });
});
