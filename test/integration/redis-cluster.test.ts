import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { reconcileQueuedFiles } from '../../src/queue/queued-files';
import { fixtures } from '../fixtures/images';
import { startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster';
import { createTestWorld, startStack, waitFor, type TestStack } from '../helpers/stack';

// Three redis-servers, a cluster created over them, and two worker processes started from
// source; the killed worker's jobs wait out their lock (6 s) and the stalled checks.
jest.setTimeout(120_000);

const PHOTOS = [fixtures.largePhotoJpeg, fixtures.photoJpeg, fixtures.jpegExif6, fixtures.portraitJpegExif6, fixtures.cmykJpeg, fixtures.rgbaPng, fixtures.grey16AlphaPng, fixtures.webp, fixtures.avif, fixtures.tiff1Bit, fixtures.smallPhotoJpeg, fixtures.jpegExif3];

describe('on a three-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let stack: TestStack;
  const workers: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    // The world's prefix holds a hash tag, as config.ts requires on a cluster.
    const world = createTestWorld({ REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: `{imgflow-test-${randomUUID()}}`, MAX_FILES: String(PHOTOS.length), MAX_QUEUED_FILES_PER_KEY: '100' });
    stack = await startStack({ world });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await stack?.stop();
    await cluster?.stop();
  });

  it('completes a batch of real photos exactly once although the first worker is SIGKILLed mid-batch', async () => {
    const queue = stack.api.ports.queue;
    // With an Idempotency-Key, so its record (one more kind of key) is written to the cluster too.
    const req = stack.request.post('/process-images').set('Idempotency-Key', randomUUID());
    for (const file of PHOTOS) req.attach('images', file);
    const accepted = (await req.expect(202)).body as { batchId: string; jobs: { jobId: string }[] };
    const jobIds = accepted.jobs.map((j) => j.jobId).sort();

    // One job at a time, so the kill lands with most of the batch still to do.
    const first = await startWorkerProcess(stack.world, { WORKER_CONCURRENCY: '1' });
    workers.push(first);
    await waitFor(async () => (await queue.getActiveCount()) > 0, { timeoutMs: 30_000, intervalMs: 20, what: 'a job to be active' });
    await first.stop('SIGKILL');
    expect(await queue.getCompletedCount()).toBeLessThan(PHOTOS.length);

    workers.push(await startWorkerProcess(stack.world));
    const batch = await waitFor(
      async () => {
        const body = (await stack.request.get(`/batches/${accepted.batchId}`).expect(200)).body;
        return body.status === 'completed' && body;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the batch to complete' },
    );
    expect(batch.progress).toMatchObject({ total: PHOTOS.length, completed: PHOTOS.length, failed: 0 });
    expect(await queue.getJobCounts('active', 'waiting', 'failed', 'completed')).toMatchObject({ active: 0, waiting: 0, failed: 0, completed: PHOTOS.length });
    const outputs = readdirSync(stack.world.processedDir).filter((f) => !f.endsWith('.tmp'));
    expect(outputs.map((f) => path.parse(f).name).sort()).toEqual(jobIds);
  });

  it('lists, counts and recounts batches there: the scripts reach the keys they derive from their own', async () => {
    const { items } = (await stack.request.get('/batches').expect(200)).body as { items: { status: string }[] };
    expect(items.map((b) => b.status)).toEqual(['completed']);
    // A record whose jobs never came (an API that died between the two), recounted at once.
    const { batches, redis } = stack.api.ports;
    const files = [{ jobId: randomUUID(), originalName: 'a.jpg' }];
    await batches.create({ batchId: randomUUID(), createdAt: new Date().toISOString(), files, quota: { holder: 'key:lost', max: 10 } }, { notAfterMs: (await batches.serverTime()) + 10_000 });
    expect(await reconcileQueuedFiles(redis, stack.world.prefix, { graceMs: 0 })).toEqual([{ holder: 'key:lost', before: 1, after: 0 }]);
  });

  it('keeps every key of the prefix in one hash slot, on one master', async () => {
    const perNode = await Promise.all(
      cluster.ports.map(async (port) => {
        const node = new Redis(port, '127.0.0.1');
        try {
          return await node.keys(`${stack.world.prefix}:*`);
        } finally {
          node.disconnect();
        }
      }),
    );
    const holding = perNode.filter((keys) => keys.length > 0);
    expect(holding).toHaveLength(1);
    const keys = holding[0] ?? [];
    // BullMQ's keys, the batch records, the event stream and the idempotency records alike.
    for (const kind of ['images:meta', 'images:completed', 'images:events', 'images:batch:', 'idempotency:']) {
      expect({ kind, present: keys.some((k) => k.startsWith(`${stack.world.prefix}:${kind}`)) }).toEqual({ kind, present: true });
    }
  });
});
