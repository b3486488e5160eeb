import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SPEC } from '../../src/pipeline';
import { DEAD_LETTER_JOB } from '../../src/queue/dead-letter';
import { enqueueBatch } from '../../src/queue/enqueue-batch';
import { sweepOrphanUploads } from '../../src/worker/orphan-uploads';
import { createTestWorld, startStack, waitFor, type TestStack } from '../helpers/stack';

const HOUR_MS = 3_600_000;

/** Writes a file into the upload dir with its mtime `ageMs` in the past. */
function storeUpload(dir: string, name: string, ageMs: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.alloc(1024, 1));
  const when = new Date(Date.now() - ageMs);
  utimesSync(file, when, when);
  return name;
}

describe('sweepOrphanUploads', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack(); // API only: no worker takes the jobs (or sweeps) meanwhile
  });
  afterAll(() => stack.stop());

  it('removes uploads no job, dead letter or session references once past the grace period, and a completed job\'s at once', async () => {
    const { uploadDir, config } = stack.world;
    const deps = { ...stack.api.ports, policy: stack.world.config.jobs };
    const graceMs = config.retention.orphanGraceMs;
    const old = graceMs + HOUR_MS;

    const orphans = [storeUpload(uploadDir, randomUUID(), old), storeUpload(uploadDir, randomUUID(), graceMs + 60_000)];
    const queued = storeUpload(uploadDir, randomUUID(), old);
    await enqueueBatch(deps, [{ originalName: 'queued.jpg', storedName: queued, size: 1024, type: 'jpeg' }], DEFAULT_SPEC);
    const deadLettered = storeUpload(uploadDir, randomUUID(), old);
    await deps.deadLetters.add(
      DEAD_LETTER_JOB,
      {
        job: { batchId: randomUUID(), inputFile: deadLettered, originalName: 'dead.jpg', type: 'jpeg', size: 1024, spec: DEFAULT_SPEC },
        failedReason: 'CORRUPT_IMAGE: test',
        attemptsMade: 1,
        failedAt: new Date().toISOString(),
      },
      { jobId: deadLettered },
    );
    const inFlight = storeUpload(uploadDir, randomUUID(), graceMs - 60_000); // still arriving, or not yet enqueued
    // Completed, but its worker died before deleting the file: done with, however recent.
    const done = storeUpload(uploadDir, randomUUID(), 0);
    await enqueueBatch(deps, [{ originalName: 'done.jpg', storedName: done, size: 1024, type: 'jpeg' }], DEFAULT_SPEC);
    await deps.redis.zadd(deps.queue.toKey('completed'), Date.now(), done);
    const foreign = [storeUpload(uploadDir, 'notes.txt', old), storeUpload(uploadDir, '.gitkeep', old)]; // not a stored name: left to age retention

    const result = await sweepOrphanUploads({ store: stack.api.ports.files.uploads, graceMs, redis: deps.redis, queues: [deps.queue, deps.deadLetters], completedKey: deps.queue.toKey('completed') });

    expect([...result.removed].sort()).toEqual([...orphans, done].sort());
    expect(result.bytes).toBe(3 * 1024);
    expect(readdirSync(uploadDir).sort()).toEqual([queued, deadLettered, inFlight, ...foreign].sort());
  });

  it('checks many files in batches and keeps every referenced one', async () => {
    const { uploadDir, config } = stack.world;
    const deps = { ...stack.api.ports, policy: stack.world.config.jobs };
    const old = config.retention.orphanGraceMs + HOUR_MS;
    const names = Array.from({ length: 1200 }, () => storeUpload(uploadDir, randomUUID(), old));
    const referenced = names.filter((_, i) => i % 3 === 0);
    await enqueueBatch(deps, referenced.map((storedName) => ({ originalName: 'x.jpg', storedName, size: 1024, type: 'jpeg' as const })), DEFAULT_SPEC);

    const result = await sweepOrphanUploads({ store: stack.api.ports.files.uploads, graceMs: config.retention.orphanGraceMs, redis: deps.redis, queues: [deps.queue, deps.deadLetters], completedKey: deps.queue.toKey('completed') }, { batchSize: 100 });

    expect(result.removed).toHaveLength(names.length - referenced.length);
    for (const name of referenced) expect(existsSync(path.join(uploadDir, name))).toBe(true);
  });
});

describe('a worker starting up', () => {
  let stack: TestStack;
  let orphan: string;
  let inFlight: string;
  beforeAll(async () => {
    // The files are there before the worker, as after an API crash.
    const world = createTestWorld();
    orphan = storeUpload(world.uploadDir, randomUUID(), 2 * HOUR_MS); // past the default grace, far within UPLOAD_RETENTION_HOURS
    inFlight = storeUpload(world.uploadDir, randomUUID(), 0);
    stack = await startStack({ world, worker: true });
  });
  afterAll(() => stack.stop());

  it('removes uploads that no job references, well before their retention, and keeps recent ones', async () => {
    const { uploadDir } = stack.world;
    await waitFor(async () => !existsSync(path.join(uploadDir, orphan)), { timeoutMs: 4000, what: 'the orphan upload to be removed' });
    expect(existsSync(path.join(uploadDir, inFlight))).toBe(true);
  });
});
