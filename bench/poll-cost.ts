import { randomUUID } from 'node:crypto';
import { IMAGE_QUEUE } from '../src/queue/jobs';
import type { Corpus } from './corpus';
import { readBatch, uploadBatch } from './http-client';
import { waitForEmptyQueue } from './queue-state';
import type { Inspector, ServiceWorld } from './stack';
import { percentiles, type Percentiles } from './stats';

export interface PollCostResult {
  readonly baseline: { readonly completedJobs: number; readonly pollMs: Percentiles };
  readonly withHistory: { readonly completedJobs: number; readonly pollMs: Percentiles };
  readonly p50Ratio: number;
  readonly p99Ratio: number;
  readonly seedSeconds: number;
  /** Redis memory per seeded completed job (job hash + sorted-set entry + its share of a batch record). */
  readonly bytesPerCompletedJob: number;
}

async function timePolls(base: URL, batchId: string, count: number): Promise<Percentiles> {
  for (let i = 0; i < 50; i++) await readBatch(base, batchId); // warm connections, JIT and Redis
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const progress = await readBatch(base, batchId);
    ms.push(performance.now() - t0);
    if (progress?.status !== 'completed') throw new Error(`poll-cost batch is ${progress?.status ?? 'missing'}`);
  }
  return percentiles(ms);
}

async function usedMemory(inspector: Inspector): Promise<number> {
  const info = await inspector.redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * Adds `count` completed jobs shaped exactly like a real one (the job hash, its entry in the
 * completed set) in batches of ten with their batch records, by copying a finished batch of
 * the same world and giving every copy new ids. A pipelined bulk write: seconds rather than
 * the hours it would take to process 100,000 images.
 */
async function seedHistory(inspector: Inspector, world: ServiceWorld, template: { batchId: string; jobIds: readonly string[] }, count: number): Promise<void> {
  const { redis } = inspector;
  const batchKey = (id: string) => `${world.prefix}:${IMAGE_QUEUE}:batch:${id}`;
  const completedKey = `${world.prefix}:${IMAGE_QUEUE}:completed`;
  const jobHashes = await Promise.all(template.jobIds.map((id) => redis.hgetall(inspector.jobKey(id))));
  const batchHash = await redis.hgetall(batchKey(template.batchId));
  const ttl = await redis.ttl(batchKey(template.batchId));
  const rename = (value: string, ids: readonly string[], batchId: string) =>
    template.jobIds.reduce((v, old, i) => v.replaceAll(old, ids[i] as string), value.replaceAll(template.batchId, batchId));

  const perBatch = template.jobIds.length;
  for (let done = 0; done < count; ) {
    const pipeline = redis.pipeline();
    for (let b = 0; b < 100 && done < count; b++, done += perBatch) {
      const batchId = randomUUID();
      const ids = template.jobIds.map(() => randomUUID());
      ids.forEach((id, i) => {
        const hash = jobHashes[i] as Record<string, string>;
        pipeline.hset(inspector.jobKey(id), Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, rename(v, ids, batchId)])));
        pipeline.zadd(completedKey, Number(hash.finishedOn ?? Date.now()), id);
      });
      const renamed = Object.fromEntries(Object.entries(batchHash).map(([k, v]) => [rename(k, ids, batchId), rename(v, ids, batchId)]));
      pipeline.hset(batchKey(batchId), renamed);
      if (ttl > 0) pipeline.expire(batchKey(batchId), ttl);
    }
    await pipeline.exec();
  }
}

/** GET /batches/:id for one finished batch of ten, before and after `history` more completed jobs exist. */
export async function measurePollCost(deps: { base: URL; corpus: Corpus; inspector: Inspector; world: ServiceWorld; history: number; polls: number }): Promise<PollCostResult> {
  const probe = { name: deps.corpus.probe.name, mime: deps.corpus.probe.mime, path: deps.corpus.probe.path };
  const upload = await uploadBatch(deps.base, Array.from({ length: 10 }, () => probe));
  if (!upload.accepted) throw new Error(`poll-cost upload refused: ${upload.status} ${upload.detail ?? ''}`);
  await waitForEmptyQueue(deps.inspector, 60_000);
  const { batchId, jobIds } = upload.accepted;
  const count = () => deps.inspector.queue.getCompletedCount();

  const baseline = { completedJobs: await count(), pollMs: await timePolls(deps.base, batchId, deps.polls) };
  const memory0 = await usedMemory(deps.inspector);
  const t0 = performance.now();
  await seedHistory(deps.inspector, deps.world, { batchId, jobIds }, deps.history);
  const seedSeconds = (performance.now() - t0) / 1000;
  const memory1 = await usedMemory(deps.inspector);
  const withHistory = { completedJobs: await count(), pollMs: await timePolls(deps.base, batchId, deps.polls) };
  return {
    baseline,
    withHistory,
    p50Ratio: withHistory.pollMs.p50 / baseline.pollMs.p50,
    p99Ratio: withHistory.pollMs.p99 / baseline.pollMs.p99,
    seedSeconds,
    bytesPerCompletedJob: (memory1 - memory0) / deps.history,
  };
}
