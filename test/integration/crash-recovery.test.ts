import { readdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { generateImage } from '../fixtures/images';
import { startWorkerProcess, type ServiceProcess } from '../helpers/processes';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Two worker processes start from source (tsx) and a killed job waits out its lock (6 s) and
// two stalled checks (3 s apart) before it runs again.
jest.setTimeout(90_000);

const FILES = 12;
const RECOVERY_LIMIT_MS = 15_000;

describe('a worker SIGKILLed while jobs are active', () => {
  let stack: TestStack;
  let redis: Redis;
  const workers: ServiceProcess[] = [];
  const startWorker = async () => {
    // One job at a time with one libvips thread: jobs stay active long enough to be killed mid-way.
    const worker = await startWorkerProcess(stack.world, { WORKER_CONCURRENCY: '1', SHARP_THREADS: '1' });
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    stack = await startStack({ env: { MAX_FILES: String(FILES) } });
    redis = new Redis(stack.world.config.redis.url);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    redis.disconnect();
    await stack.stop();
  });

  it('completes every job exactly once after a new worker starts, with one output per job', async () => {
    // The recovery bound below rests on the shipped lock and stalled-check settings.
    expect(stack.world.config.worker).toMatchObject({ lockDurationMs: 6000, stalledIntervalMs: 3000 });
    const queue = stack.api.ports.queue;

    const photo = await generateImage({ width: 3000, height: 2000, format: 'jpeg' });
    const req = stack.request.post('/process-images');
    for (let i = 0; i < FILES; i++) req.attach('images', photo, `large-${i}.jpg`);
    const accepted = (await req.expect(202)).body as { batchId: string; jobs: { jobId: string }[] };
    const jobIds = accepted.jobs.map((j) => j.jobId).sort();

    const first = await startWorker();
    await waitFor(async () => (await queue.getActiveCount()) > 0, { timeoutMs: 20_000, intervalMs: 20, what: 'a job to be active' });
    await first.stop('SIGKILL');

    // What the dead worker held: still 'active' in Redis, with nobody working on it.
    const orphaned = (await queue.getActive()).map((j) => j.id as string);
    expect(orphaned.length).toBeGreaterThan(0);
    expect((await queue.getCompletedCount()) + orphaned.length).toBeLessThan(FILES);

    await startWorker();
    const restartedAt = Date.now();
    await waitFor(
      async () => {
        const stillActive = new Set((await queue.getActive()).map((j) => j.id));
        return orphaned.every((id) => !stillActive.has(id));
      },
      { timeoutMs: RECOVERY_LIMIT_MS + 5_000, intervalMs: 200, what: 'the orphaned jobs to leave active' },
    );
    const recoveryMs = Date.now() - restartedAt;
    expect(recoveryMs).toBeLessThan(RECOVERY_LIMIT_MS);

    const batch = await waitFor(
      async () => {
        const body = (await stack.request.get(`/batches/${accepted.batchId}`).expect(200)).body;
        return body.status === 'completed' && body;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the batch to complete' },
    );
    expect(batch.progress).toEqual({ total: FILES, completed: FILES, failed: 0, active: 0, waiting: 0, delayed: 0 });
    expect(await queue.getJobCounts('active', 'waiting', 'delayed', 'failed', 'completed')).toMatchObject({ active: 0, waiting: 0, delayed: 0, failed: 0, completed: FILES });

    // Exactly once: one 'completed' event per job on the queue's event stream, none twice.
    const events = await redis.xrange(`${stack.world.prefix}:images:events`, '-', '+');
    const completions = events
      .map(([, fields]) => Object.fromEntries(fields.flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : []))) as Record<string, string>)
      .filter((e) => e.event === 'completed')
      .map((e) => e.jobId as string)
      .sort();
    expect(completions).toEqual(jobIds);

    // One finished output per job; the killed worker may leave only a temp file, never a second output.
    const outputs = readdirSync(stack.world.processedDir);
    expect(outputs.filter((f) => !f.endsWith('.tmp')).sort()).toEqual(jobIds.map((id) => `${id}.jpg`));
    expect(outputs.filter((f) => f.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    await waitFor(async () => readdirSync(stack.world.uploadDir).length === 0, { timeoutMs: 5_000, what: 'uploads removed' });
  });
});
