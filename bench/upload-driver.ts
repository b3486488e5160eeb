import { isFinished, readBatch, uploadBatch, type AcceptedBatch, type BatchProgress, type UploadItem, type UploadOutcome } from './http-client';
import type { Corpus } from './corpus';
import { sleep } from './stats';

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Sends every request, `clients` at a time; `onSent` hears each outcome as it arrives. */
export async function uploadAll(base: URL, requests: readonly (readonly UploadItem[])[], clients: number, onSent: (o: UploadOutcome) => void): Promise<void> {
  let next = 0;
  const client = async () => {
    for (let i = next++; i < requests.length; i = next++) onSent(await uploadBatch(base, requests[i] as UploadItem[]));
  };
  await Promise.all(Array.from({ length: Math.min(clients, requests.length) }, client));
}

/** The whole corpus in requests of 10, `clients` at a time; the ids of its jobs, every file accepted or an error. */
export async function uploadCorpus(base: URL, corpus: Corpus, clients: number): Promise<string[]> {
  const items = corpus.files.map((f) => ({ name: f.name, mime: f.mime, path: f.path }));
  const jobIds: string[] = [];
  await uploadAll(base, chunk(items, 10), clients, (o) => jobIds.push(...(o.accepted?.jobIds ?? [])));
  if (jobIds.length !== items.length) throw new Error(`expected ${items.length} accepted files, got ${jobIds.length}`);
  return jobIds;
}

export interface TrackedBatch extends AcceptedBatch {
  progress?: BatchProgress;
  /** performance.now() when a poll first saw it finished. */
  doneAt?: number;
}

/**
 * Follows accepted batches to the end with as few polls as possible: one request at a time, on
 * the oldest unfinished batch only (jobs run in arrival order, so younger batches are rarely
 * done first), and straight on to the next one when it is. Returns the number of polls made.
 */
export async function followBatches(base: URL, batches: TrackedBatch[], options: { pollMs: number; deadline: number; moreComing: () => boolean }): Promise<number> {
  let polls = 0;
  while (performance.now() < options.deadline) {
    const oldest = batches.find((b) => b.doneAt === undefined);
    if (!oldest) {
      if (!options.moreComing()) return polls;
      await sleep(options.pollMs);
      continue;
    }
    polls++;
    const progress = await readBatch(base, oldest.batchId).catch(() => undefined);
    if (progress) oldest.progress = progress;
    if (progress && isFinished(progress)) oldest.doneAt = performance.now();
    else await sleep(options.pollMs);
  }
  return polls;
}

/** Sequential single-file uploads, `gapMs` apart, while `keepGoing()`; returns their latencies in ms. */
export async function probeUploads(base: URL, item: UploadItem, options: { gapMs: number; max: number; keepGoing: () => boolean }): Promise<{ latencies: number[]; batches: AcceptedBatch[]; errors: number }> {
  const latencies: number[] = [];
  const batches: AcceptedBatch[] = [];
  let errors = 0;
  while (latencies.length + errors < options.max && options.keepGoing()) {
    const outcome = await uploadBatch(base, [item]);
    if (outcome.accepted) {
      latencies.push(outcome.ms);
      batches.push(outcome.accepted);
    } else errors++;
    await sleep(options.gapMs);
  }
  return { latencies, batches, errors };
}
