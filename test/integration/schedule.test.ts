import { generateImage } from '../fixtures/images';
import { filesIn } from '../helpers/http';
import { createTestWorld, startStack, waitFor, type TestStack } from '../helpers/stack';
import { createShutdown } from '../../src/shutdown';
import { composeWorker } from '../../src/worker/compose';

const DAY_MS = 24 * 3600 * 1000;

describe('delayMs and processAt', () => {
  let stack: TestStack;
  let image: Buffer;
  beforeAll(async () => {
    stack = await startStack({ worker: true });
    image = await generateImage({ width: 32, height: 24, format: 'png' });
  });
  afterAll(() => stack.stop());

  it('keeps a delayed batch scheduled, its files delayed, until it is due; then it completes', async () => {
    const sentAt = Date.now();
    const res = await stack.request.post('/process-images').field('delayMs', '1500').attach('images', image, 'a.png').attach('images', image, 'b.png').expect(202);
    const scheduled = (await stack.request.get(res.body.statusUrl).expect(200)).body;
    expect(scheduled).toMatchObject({ status: 'scheduled', progress: { total: 2, waiting: 2, delayed: 2, active: 0, completed: 0 } });
    expect(scheduled.files.map((f: { state: string }) => f.state)).toEqual(['delayed', 'delayed']);
    expect(Date.parse(scheduled.processAt)).toBeGreaterThanOrEqual(sentAt + 1500);
    expect((await stack.request.get(`/jobs/${res.body.jobs[0].jobId}`).expect(200)).body.state).toBe('delayed');

    const done = await waitFor(
      async () => {
        const body = (await stack.request.get(res.body.statusUrl).expect(200)).body;
        return body.status === 'completed' && body;
      },
      { timeoutMs: 30_000, what: 'the delayed batch to complete' }, // a bound on a hang, not a speed check
    );
    expect(done.progress).toEqual({ total: 2, completed: 2, failed: 0, active: 0, waiting: 0, delayed: 0 });
    // Not before it was due: the worker's own clock says when each job was taken.
    const jobs = await Promise.all(res.body.jobs.map((j: { jobId: string }) => stack.api.ports.queue.getJob(j.jobId)));
    for (const job of jobs) expect(job?.processedOn).toBeGreaterThanOrEqual(Date.parse(scheduled.processAt) - 5);
  });

  it('schedules with processAt, and a processAt within the clock skew means now', async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const res = await stack.request.post('/upload').field('processAt', at).attach('media', image, 'later.png').expect(202);
    const batch = (await stack.request.get(`/batches/${res.body.batchId}`).expect(200)).body;
    expect(batch).toMatchObject({ status: 'scheduled', processAt: at, progress: { delayed: 1 } });
    await stack.api.ports.queue.remove(res.body.jobId);
    await stack.api.ports.files.uploads.remove(res.body.jobId);

    const now = await stack.request.post('/upload').field('processAt', new Date(Date.now() - 5000).toISOString()).attach('media', image, 'now.png').expect(202);
    const immediate = (await stack.request.get(`/batches/${now.body.batchId}`).expect(200)).body;
    expect(immediate.status).not.toBe('scheduled');
    expect(immediate.processAt).toBeUndefined();
  });

  it.each<[string, Record<string, () => string>, string, RegExp]>([
    ['processAt an hour ago', { processAt: () => new Date(Date.now() - 3600_000).toISOString() }, 'INVALID_SCHEDULE', /in the past/],
    ['processAt 31 days ahead', { processAt: () => new Date(Date.now() + 31 * DAY_MS).toISOString() }, 'INVALID_SCHEDULE', /at most 30 days/],
    ['processAt without a zone', { processAt: () => '2030-01-01T09:00:00' }, 'INVALID_SCHEDULE', /processAt/],
    ['both delayMs and processAt', { delayMs: () => '1000', processAt: () => new Date(Date.now() + 60_000).toISOString() }, 'INVALID_SCHEDULE', /not both/],
    ['delayMs over 30 days', { delayMs: () => String(31 * DAY_MS) }, 'INVALID_SCHEDULE', /delayMs/],
    ['a negative delayMs', { delayMs: () => '-1' }, 'INVALID_SCHEDULE', /delayMs/],
    ['a fractional delayMs', { delayMs: () => '1.5' }, 'INVALID_SCHEDULE', /delayMs/],
    ['an unknown priority', { priority: () => 'urgent' }, 'INVALID_PRIORITY', /priority/],
  ])('refuses %s with 400 %s, leaving no file and no job', async (_name, fields, code, detail) => {
    const before = filesIn(stack.world.uploadDir);
    const jobsBefore = await stack.api.ports.queue.count();
    let req = stack.request.post('/process-images');
    for (const [name, value] of Object.entries(fields)) req = req.field(name, value());
    const res = await req.attach('images', image, 'x.png');
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code });
    expect(res.body.detail).toMatch(detail);
    // Earlier tests' jobs may finish meanwhile, so: nothing new, rather than nothing changed.
    expect(filesIn(stack.world.uploadDir).filter((f) => !before.includes(f))).toEqual([]);
    expect(await stack.api.ports.queue.count()).toBeLessThanOrEqual(jobsBefore);
  });
});

describe('priority', () => {
  const NORMAL = 200;
  const world = createTestWorld({ WORKER_CONCURRENCY: '1', MAX_FILES: String(NORMAL) });
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ world }); // no worker yet: everything queues first
  });
  afterAll(() => stack.stop());

  it('takes a high batch uploaded behind 200 normal jobs first, and a low one uploaded before them last', async () => {
    const image = await generateImage({ width: 16, height: 16, format: 'png' });
    const upload = async (count: number, priority?: string) => {
      let req = stack.request.post('/process-images');
      if (priority) req = req.field('priority', priority);
      for (let i = 0; i < count; i++) req = req.attach('images', image, `${priority ?? 'default'}-${i}.png`);
      return ((await req.expect(202)).body.jobs as { jobId: string }[]).map((j) => j.jobId);
    };
    const low = await upload(3, 'low');
    const normal = await upload(NORMAL);
    const high = await upload(3, 'high');

    const worker = composeWorker(world.config, world.logger);
    const stopWorker = createShutdown(world.logger, worker.closeSteps);
    try {
      void worker.worker.run();
      const { queue } = stack.api.ports;
      const total = low.length + normal.length + high.length;
      await waitFor(async () => (await queue.getCompletedCount()) === total, { timeoutMs: 120_000, intervalMs: 200, what: 'every job to complete' }); // a bound on a hang
      const processedOn = (ids: string[]) => Promise.all(ids.map(async (id) => Number((await queue.getJob(id))?.processedOn)));
      const [l, n, h] = await Promise.all([processedOn(low), processedOn(normal), processedOn(high)]);
      // One job at a time: a job is taken only after the one before it finished.
      expect(Math.max(...h!)).toBeLessThanOrEqual(Math.min(...n!));
      expect(Math.max(...n!)).toBeLessThanOrEqual(Math.min(...l!));
      // Upload order within one priority.
      expect(h).toEqual([...h!].sort((a, b) => a - b));
    } finally {
      await stopWorker();
    }
  }, 150_000); // 206 jobs through one worker slot on a shared 2-core machine
});
