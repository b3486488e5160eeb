import { randomUUID } from 'node:crypto';
import { relayOutbox } from '../../src/notify/outbox-relay';
import { webhookOutboxKey } from '../../src/queue/webhook-jobs';
import { startStack, type TestStack } from '../helpers/stack';

describe('the webhook outbox relay', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('drops malformed entries instead of stopping at them, so the events behind them still move', async () => {
    const { ports, world } = { ports: stack.api.ports, world: stack.world };
    const key = webhookOutboxKey(world.prefix);
    await ports.redis.rpush(key, '{{ not json', JSON.stringify({ not: 'an entry' }));
    // Behind them, the real entry the batch store writes when a batch with a callback finishes.
    const batchId = randomUUID();
    const jobId = randomUUID();
    const notAfterMs = (await ports.batches.serverTime()) + 10_000;
    await ports.batches.create({ batchId, createdAt: new Date().toISOString(), files: [{ jobId, originalName: 'a.jpg' }], callback: { url: 'https://hooks.example/h', events: 'batch' } }, { notAfterMs });
    await ports.batches.recordOutcome(batchId, jobId, { state: 'failed', failedReason: 'CORRUPT_IMAGE: test', attemptsMade: 1 });
    expect(await ports.redis.llen(key)).toBe(3);

    const moved = await relayOutbox({ ...ports, prefix: world.prefix, policy: world.config.webhooks, logger: world.logger });
    expect(moved).toBe(3);
    expect(await ports.redis.llen(key)).toBe(0);
    const jobs = await ports.webhooks.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs.map((j) => ({ batchId: j.data.batchId, type: j.data.type }))).toEqual([{ batchId, type: 'batch.failed' }]);
  });
});
