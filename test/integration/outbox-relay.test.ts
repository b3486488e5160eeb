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
    const moved = await relayOutbox({ ...ports, prefix: world.prefix, policy: world.config.webhooks, logger: world.logger });
    expect(moved).toBe(2);
    expect(await ports.redis.llen(key)).toBe(0);
    expect(await ports.webhooks.count()).toBe(0);
  });
});
