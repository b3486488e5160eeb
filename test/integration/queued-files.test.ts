import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { DEFAULT_SPEC } from '../../src/pipeline';
import { enqueueBatch } from '../../src/queue/enqueue-batch';
import { IMAGE_JOB, IMAGE_QUEUE } from '../../src/queue/jobs';
import { reconcileQueuedFiles } from '../../src/queue/queued-files';
import { reconcileDeadLetters } from '../../src/worker/dead-letter-reconciler';
import { startStack, testRedisUrl, waitFor, type TestStack } from '../helpers/stack';

/** The queued-files count is self-healing: recounting it from the batch records and their jobs mends every way it can be left high. */
describe('recounting queued files (MAX_QUEUED_FILES_PER_KEY)', () => {
  let stack: TestStack;
  const quota = (holder: string) => ({ holder, max: 100 });
  const images = (n: number) => Array.from({ length: n }, () => ({ originalName: 'a.jpg', storedName: randomUUID(), size: 1, type: 'jpeg' as const }));
  const recount = (graceMs = 0) => reconcileQueuedFiles(stack.api.ports.redis, stack.world.prefix, { graceMs });
  const queued = (holder: string) => stack.api.ports.batches.queuedFiles(holder);
  /** A batch of `n` files counted against `holder`, its jobs queued (no worker: they stay waiting). */
  const enqueue = (holder: string, n: number) => enqueueBatch({ ...stack.api.ports, policy: stack.world.config.jobs }, images(n), DEFAULT_SPEC, { quota: quota(holder) });
  /** A batch record counted against `holder` whose jobs never came: the API died between the two writes. */
  async function recordOnly(holder: string, n: number): Promise<string> {
    const batchId = randomUUID();
    const files = images(n).map((i) => ({ jobId: i.storedName, originalName: i.originalName }));
    const { batches } = stack.api.ports;
    await batches.create({ batchId, createdAt: new Date().toISOString(), files, quota: quota(holder) }, { notAfterMs: (await batches.serverTime()) + 10_000 });
    return batchId;
  }

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('leaves a count that is right alone, and keeps counting files whose jobs wait', async () => {
    await enqueue('key:right', 3);
    expect(await recount()).toEqual([]);
    expect(await queued('key:right')).toBe(3);
  });

  it('gives back the places of a batch whose jobs were never added, once it is past the grace time', async () => {
    await enqueue('key:crash', 1);
    await recordOnly('key:crash', 2);
    // Within the grace time the record alone counts: its jobs may be on their way.
    expect(await recount(60_000)).toEqual([]);
    expect(await recount()).toEqual([{ holder: 'key:crash', before: 3, after: 1 }]);
    expect(await queued('key:crash')).toBe(1);
  });

  it('gives back the places of a batch whose record expired unfinished', async () => {
    const batchId = await recordOnly('key:expired', 2);
    await stack.api.ports.redis.del(`${stack.world.prefix}:${IMAGE_QUEUE}:batch:${batchId}`);
    expect(await recount()).toEqual([{ holder: 'key:expired', before: 2, after: 0 }]);
    expect(await stack.api.ports.redis.hexists(`${stack.world.prefix}:${IMAGE_QUEUE}:queued-files`, 'key:expired')).toBe(0);
  });

  it('recounts every other holder when one holder\'s record is corrupt, and says which one failed', async () => {
    const corrupt = await recordOnly('key:corrupt', 1);
    await stack.api.ports.redis.hset(`${stack.world.prefix}:${IMAGE_QUEUE}:batch:${corrupt}`, 'files', 'not json');
    await recordOnly('key:healthy', 2);
    const failed: string[] = [];
    const corrections = await reconcileQueuedFiles(stack.api.ports.redis, stack.world.prefix, { graceMs: 0, onError: (holder) => failed.push(holder) });
    expect({ failed, healthy: corrections.find((c) => c.holder === 'key:healthy') }).toEqual({ failed: ['key:corrupt'], healthy: { holder: 'key:healthy', before: 2, after: 0 } });
    await stack.api.ports.redis.hdel(`${stack.world.prefix}:${IMAGE_QUEUE}:queued-files`, 'key:corrupt');
  });

  it('gives back the place of a job removed before its outcome was recorded', async () => {
    const { files } = await enqueue('key:removed', 2);
    await stack.api.ports.queue.remove(files[0]?.jobId ?? '');
    expect(await recount()).toEqual([{ holder: 'key:removed', before: 2, after: 1 }]);
  });

});

describe('recounting queued files after a job failed for good', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('keeps counting a job that failed with no outcome yet, whose dead letter gives its place back once', async () => {
    const { batches, queue, redis, deadLetters } = stack.api.ports;
    const [failing, waiting] = [randomUUID(), randomUUID()];
    const files = [failing, waiting].map((jobId) => ({ jobId, originalName: 'a.jpg' }));
    const batchId = randomUUID();
    await batches.create({ batchId, createdAt: new Date().toISOString(), files, quota: { holder: 'key:failed', max: 100 } }, { notAfterMs: (await batches.serverTime()) + 10_000 });
    await queue.add(IMAGE_JOB, { source: 'upload', inputFile: failing, originalName: 'a.jpg', type: 'jpeg', size: 1, batchId, spec: DEFAULT_SPEC }, { jobId: failing });
    // A bare BullMQ worker fails it as ours would, but, as if it died first, writes no dead letter and no outcome.
    const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    const worker = new Worker(IMAGE_QUEUE, () => Promise.reject(new UnrecoverableError('CORRUPT_IMAGE: test')), { connection, prefix: stack.world.prefix });
    try {
      await waitFor(async () => (await queue.getJobState(failing)) === 'failed', { what: 'the job to fail' });
    } finally {
      await worker.close();
      connection.disconnect();
    }
    // Added after the bare worker is gone, so it stays waiting.
    await queue.add(IMAGE_JOB, { source: 'upload', inputFile: waiting, originalName: 'a.jpg', type: 'jpeg', size: 1, batchId, spec: DEFAULT_SPEC }, { jobId: waiting });
    // The dead-letter reconciler will record the failure, and that gives the place back: the recount must not do it first.
    expect(await reconcileQueuedFiles(redis, stack.world.prefix, { graceMs: 0 })).toEqual([]);
    expect(await reconcileDeadLetters({ queue, deadLetters, batches })).toBe(1);
    expect(await batches.queuedFiles('key:failed')).toBe(1);
  });
});
