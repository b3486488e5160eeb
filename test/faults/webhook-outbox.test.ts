import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { webhookOutboxKey } from '../../src/queue/webhook-jobs';
import { fixtures } from '../fixtures/images';
import { startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { startStack, waitFor, type TestStack } from '../helpers/stack';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

// Two worker processes start from source (a few seconds each on a busy machine).
jest.setTimeout(90_000);

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('worker SIGKILLed after a batch finished, before its webhook was queued', () => {
  let stack: TestStack;
  let receiver: WebhookReceiver;
  let redis: Redis;
  let worker: ServiceProcess | undefined;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({ env: { ALLOW_PRIVATE_URLS: 'true', WEBHOOK_SECRET: SECRET, WEBHOOK_BACKOFF_MS: '100', WEBHOOK_RELAY_INTERVAL_MS: '50' } });
    redis = new Redis(stack.world.config.redis.url);
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    redis.disconnect();
    await stack.stop();
    await receiver.stop();
  });

  it('still delivers exactly one batch.* webhook, from the outbox written with the outcome', async () => {
    const outbox = webhookOutboxKey(stack.world.prefix);
    const { webhooks } = stack.api.ports;
    // The first worker relays once at start (nothing yet), then not for an hour: the batch's
    // event can only reach the queue through what its outcome left in the outbox.
    worker = await startWorkerProcess(stack.world, { WEBHOOK_RELAY_INTERVAL_MS: '3600000' });
    const { body } = await stack.request.post('/process-images').field('callbackUrl', `${receiver.url}/hook`).attach('images', fixtures.smallPhotoJpeg).expect(202);

    const [entry] = await waitFor(async () => {
      const entries = await redis.lrange(outbox, 0, -1);
      return entries.length > 0 && entries;
    }, { what: 'the outbox entry' });
    expect((await stack.request.get(`/batches/${body.batchId}`).expect(200)).body.status).toBe('completed');
    expect(await webhooks.count()).toBe(0);
    await worker.stop('SIGKILL');
    expect(receiver.received).toHaveLength(0);

    worker = await startWorkerProcess(stack.world);
    const [hook] = await waitFor(async () => receiver.received.length > 0 && receiver.received, { what: 'the webhook' });
    const event = new Webhook(SECRET).verify(hook!.body, hook!.headers as Record<string, string>) as { type: string; data: { batchId: string } };
    expect(event).toMatchObject({ type: 'batch.completed', data: { batchId: body.batchId } });
    await waitFor(async () => (await redis.llen(outbox)) === 0, { what: 'the outbox to drain' });

    // A relay that died between adding the job and removing the entry relays it again: the
    // job id is the webhook-id, so BullMQ adds nothing and nothing more is sent.
    await redis.rpush(outbox, entry!);
    await waitFor(async () => (await redis.llen(outbox)) === 0, { what: 'the repeated entry to be relayed' });
    await waitFor(async () => (await webhooks.getCompletedCount()) === 1, { what: 'the delivery to complete' });
    expect(await webhooks.getJobCounts()).toMatchObject({ completed: 1, waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(receiver.received.map((h) => h.headers['webhook-id'])).toEqual([`msg_${body.batchId}_1`]);
  });
});
