import { Redis } from 'ioredis';
import { createLocalFileStore } from '../../src/storage/local-file-store';
import { sweepOldFiles } from '../../src/worker/file-retention';
import sharp from 'sharp';
import { filesIn } from '../helpers/http';
import { startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Three kill-and-restart rounds, each waiting for BullMQ's stalled-job recovery (up to ~12 s).
jest.setTimeout(150_000);

const RECOVERY_LIMIT_MS = 15_000;
const FILES = 16;

describe('worker SIGKILLed mid-batch, several times in a row', () => {
  let stack: TestStack;
  let worker: ServiceProcess | undefined;

  beforeAll(async () => {
    // Default lock and stalled-check settings: recovery must be fast as shipped, not only in tests.
    stack = await startStack({ env: { WORKER_CONCURRENCY: '2', MAX_FILES: String(FILES), MAX_FILE_SIZE_MB: '20' } });
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await stack.stop();
  });

  const batchOf = async (batchId: string) => (await stack.request.get(`/batches/${batchId}`).expect(200)).body;

  it('completes every accepted file exactly once, and a crashed job is back within 15 s', async () => {
    // AVIF decodes slowly (~0.4 s for 9 MP here; AVIF's share of the default decode budget is 10 MP), so a batch stays in flight long enough to be killed mid-job.
    const slow = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#1c8', noise: { type: 'gaussian', mean: 100, sigma: 10 } } })
      .avif({ quality: 30, effort: 0 })
      .toBuffer();
    const req = stack.request.post('/process-images');
    for (let i = 0; i < FILES; i++) req.attach('images', slow, `slow-${i}.avif`);
    const { body: accepted } = await req.expect(202);

    const recoveries: number[] = [];
    for (let round = 0; round < 3; round++) {
      worker = await startWorkerProcess(stack.world);
      const active = await waitFor(
        async () => {
          const batch = await batchOf(accepted.batchId);
          const ids = batch.files.filter((f: { state: string }) => f.state === 'active').map((f: { jobId: string }) => f.jobId);
          return ids.length > 0 && ids;
        },
        { timeoutMs: 30_000, what: 'a job to be active' },
      );
      await worker.stop('SIGKILL');

      worker = await startWorkerProcess(stack.world);
      const restarted = Date.now();
      // The killed jobs must leave 'active' (taken again, or finished by the new worker) within the limit.
      await waitFor(
        async () => {
          const batch = await batchOf(accepted.batchId);
          const states = active.map((id: string) => batch.files.find((f: { jobId: string }) => f.jobId === id).state);
          const stillHeld = await Promise.all(active.map((id: string) => stack.api.ports.queue.getJob(id).then((j) => j?.processedOn)));
          return states.every((s: string) => s !== 'active') || stillHeld.some((p) => p !== undefined && p > restarted) ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'killed jobs recovered' },
      );
      recoveries.push(Date.now() - restarted);
      if (round < 2) await worker.stop('SIGKILL');
    }

    const batch = await waitFor(async () => {
      const b = await batchOf(accepted.batchId);
      return b.status !== 'processing' && b.status !== 'waiting' && b;
    }, { timeoutMs: 60_000, intervalMs: 200, what: 'batch finished' });

    expect(batch.status).toBe('completed');
    expect(batch.progress).toEqual({ total: FILES, completed: FILES, failed: 0, active: 0, waiting: 0, delayed: 0 });
    // One output per job, named by job id: a re-run overwrites instead of duplicating. A worker
    // killed mid-write leaves its temporary file, which never looks finished and is swept later.
    const [temps, outputs] = partition(filesIn(stack.world.processedDir).sort(), (f) => f.endsWith('.tmp'));
    expect(outputs).toEqual(batch.files.map((f: { jobId: string }) => `${f.jobId}.jpg`).sort());
    const later = Date.now() + 11 * 60_000;
    await sweepOldFiles([{ store: createLocalFileStore(stack.world.processedDir), maxAgeSeconds: 24 * 3600 }], later);
    expect(filesIn(stack.world.processedDir).sort()).toEqual(outputs);
    expect(temps.every((t) => outputs.some((o) => t.startsWith(`${o}.`)))).toBe(true);
    // The batch counters were kept exactly once per file, however often a job ran.
    const redis = new Redis(stack.world.config.redis.url);
    const counters = await redis.hmget(`${stack.world.prefix}:images:batch:${accepted.batchId}`, 'completed', 'failed');
    redis.disconnect();
    expect(counters).toEqual([String(FILES), null]);
    expect(await stack.api.ports.queue.getActiveCount()).toBe(0);

    for (const ms of recoveries) expect(ms).toBeLessThan(RECOVERY_LIMIT_MS);
    process.stdout.write(`stalled-job recovery after restart (ms): ${recoveries.join(', ')}\n`);
  });
});

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}
