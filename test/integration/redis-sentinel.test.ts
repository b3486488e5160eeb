import { fixtures } from '../fixtures/images';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis-sentinel';
import { createTestWorld, startStack, waitFor, type TestStack } from '../helpers/stack';

describe('through Redis Sentinel', () => {
  let sentinel: RedisSentinel;
  let stack: TestStack;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    stack = await startStack({ world: createTestWorld({ REDIS_SENTINELS: sentinel.sentinels, REDIS_SENTINEL_NAME: sentinel.masterName }), worker: true });
  });
  afterAll(async () => {
    await stack?.stop();
    await sentinel?.stop();
  });

  it('finds the master the Sentinel names and completes a batch on it', async () => {
    const { body } = await stack.request.post('/process-images').attach('images', fixtures.jpegExif6).attach('images', fixtures.webp).expect(202);
    const batch = await waitFor(
      async () => {
        const poll = (await stack.request.get(`/batches/${body.batchId}`).expect(200)).body;
        return poll.status === 'completed' && poll;
      },
      { what: 'the batch to complete' },
    );
    expect(batch.progress).toMatchObject({ total: 2, completed: 2, failed: 0 });
    expect(stack.api.ports.redis.options).toMatchObject({ sentinels: [{ host: '127.0.0.1', port: Number(sentinel.sentinels.split(':')[1]) }], name: sentinel.masterName });
  });
});
