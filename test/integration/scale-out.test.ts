import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { generateImage } from '../fixtures/images';
import { watchBatchEvents } from '../helpers/event-source';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { createTestWorld, type TestWorld } from '../helpers/stack';

// Four processes started from source (tsx) on a 2-core machine, and two batches through them.
jest.setTimeout(120_000);

const FILES_PER_BATCH = 8;

interface Accepted {
  readonly batchId: string;
  readonly jobs: readonly { jobId: string }[];
}

async function upload(api: ApiProcess, photo: Buffer): Promise<Accepted> {
  const form = new FormData();
  for (let i = 0; i < FILES_PER_BATCH; i++) form.append('images', new Blob([photo], { type: 'image/jpeg' }), `photo-${i}.jpg`);
  const res = await fetch(`${api.baseUrl}/process-images`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return (await res.json()) as Accepted;
}

async function batchStatus(api: ApiProcess, batchId: string): Promise<{ status: string; progress: Record<string, number> }> {
  const res = await fetch(`${api.baseUrl}/batches/${batchId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; progress: Record<string, number> };
}

describe('two API and two worker processes on one Redis', () => {
  let world: TestWorld;
  let apis: ApiProcess[];
  let workers: ServiceProcess[];
  let redis: Redis;

  beforeAll(async () => {
    world = createTestWorld({ MAX_FILES: String(FILES_PER_BATCH) });
    redis = new Redis(world.config.redis.url);
    apis = await Promise.all([startApiProcess(world), startApiProcess(world)]);
    // Debug level: each worker logs 'image processed' per job, which tells who did what.
    workers = await Promise.all([startWorkerProcess(world, { LOG_LEVEL: 'debug' }), startWorkerProcess(world, { LOG_LEVEL: 'debug' })]);
  });
  afterAll(async () => {
    await Promise.all([...(apis ?? []), ...(workers ?? [])].map((p) => p.stop('SIGKILL')));
    redis?.disconnect();
    await world?.cleanup();
  });

  it('completes every file exactly once, and either API answers polls and live events for a batch the other took', async () => {
    const [first, second] = apis as [ApiProcess, ApiProcess];
    const photo = await generateImage({ width: 2400, height: 1600, format: 'jpeg' });
    const a = await upload(first, photo);
    const liveOnSecond = watchBatchEvents(`${second.baseUrl}/batches/${a.batchId}/events`);
    const b = await upload(second, photo);
    const liveOnFirst = watchBatchEvents(`${first.baseUrl}/batches/${b.batchId}/events`);

    const [eventsA, eventsB] = await Promise.all([liveOnSecond.ended(90_000), liveOnFirst.ended(90_000)]).finally(() => {
      liveOnSecond.close();
      liveOnFirst.close();
    });
    for (const [events, batch] of [[eventsA, a], [eventsB, b]] as const) {
      expect(events.at(-1)).toMatchObject({ type: 'batch', data: { status: 'completed', progress: { completed: FILES_PER_BATCH } } });
      // Files done before the stream opened are in its snapshot; each later one arrives once, live.
      const files = events.filter((e) => e.type === 'file').map((e) => (e.data as { jobId: string }).jobId);
      expect(files.length).toBeGreaterThan(0);
      expect(new Set(files).size).toBe(files.length);
      expect(files.every((id) => batch.jobs.some((j) => j.jobId === id))).toBe(true);
    }
    for (const [api, batch] of [[second, a], [first, b]] as const) {
      expect(await batchStatus(api, batch.batchId)).toMatchObject({ status: 'completed', progress: { total: FILES_PER_BATCH, completed: FILES_PER_BATCH, failed: 0 } });
    }

    const jobIds = [...a.jobs, ...b.jobs].map((j) => j.jobId).sort();
    // Exactly once: one 'completed' record per job on the queue's event stream, none twice.
    const entries = await redis.xrange(`${world.prefix}:images:events`, '-', '+');
    const completions = entries
      .map(([, fields]) => Object.fromEntries(fields.flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : []))) as Record<string, string>)
      .filter((e) => e.event === 'completed')
      .map((e) => e.jobId)
      .sort();
    expect(completions).toEqual(jobIds);
    // And one output per job, none written twice under another name.
    const outputs = readdirSync(world.processedDir).filter((f) => !f.endsWith('.tmp'));
    expect(outputs.map((f) => path.parse(f).name).sort()).toEqual(jobIds);
    // Both workers took a share of the one queue, and between them ran each job once.
    const ranBy = workers.map((w) => w.output().split('\n').filter((l) => l.includes('"image processed"')).map((l) => (JSON.parse(l) as { jobId: string }).jobId));
    expect(ranBy.map((ids) => ids.length > 0)).toEqual([true, true]);
    expect(ranBy.flat().sort()).toEqual(jobIds);
  });
});
