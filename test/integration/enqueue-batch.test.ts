import { randomUUID } from 'node:crypto';
import { DEFAULT_SPEC } from '../../src/pipeline';
import type { ImageQueue } from '../../src/queue/jobs';
import { enqueueBatch } from '../../src/queue/enqueue-batch';
import { startStack, type TestStack } from '../helpers/stack';

// Fresh stored names per batch: they are the job ids, and one test must not see the other's jobs.
const images = () => [
  { originalName: 'a.jpg', storedName: randomUUID(), size: 1, type: 'jpeg' as const },
  { originalName: 'b.jpg', storedName: randomUUID(), size: 1, type: 'jpeg' as const },
];

describe('enqueueBatch when addBulk reports an error', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  /** The real queue, with addBulk failing before or after it reaches Redis. */
  function faultyQueue(when: 'before' | 'after'): ImageQueue {
    const queue = stack.api.ports.queue;
    const faulty = Object.create(queue) as ImageQueue;
    faulty.addBulk = async (jobs) => {
      if (when === 'after') await queue.addBulk(jobs);
      throw new Error('Command timed out');
    };
    return faulty;
  }

  it('keeps a batch whose MULTI committed although the reply was lost', async () => {
    const { batchId, files } = await enqueueBatch({ ...stack.api.ports, policy: stack.world.config.jobs, queue: faultyQueue('after') }, images(), DEFAULT_SPEC);
    expect(await stack.api.ports.batches.get(batchId)).toBeDefined();
    for (const { jobId } of files) expect(await stack.api.ports.queue.getJob(jobId)).toBeDefined();
  });

  it('undoes the batch record when nothing was committed, and rethrows', async () => {
    const keysBefore = await stack.api.ports.redis.keys(`${stack.world.prefix}:images:batch:*`);
    await expect(enqueueBatch({ ...stack.api.ports, policy: stack.world.config.jobs, queue: faultyQueue('before') }, images(), DEFAULT_SPEC)).rejects.toThrow('Command timed out');
    expect(await stack.api.ports.redis.keys(`${stack.world.prefix}:images:batch:*`)).toEqual(keysBefore);
  });
});
