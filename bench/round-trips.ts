import type { Corpus } from './corpus';
import { readBatch, uploadBatch } from './http-client';
import { portOwners, scriptNames } from './redis-commands';
import type { Inspector } from './stack';
import { sleep } from './stats';
import { waitForEmptyQueue } from './queue-state';
import { uploadCorpus } from './upload-driver';

export interface CommandCount {
  /** Commands per unit (file, job or poll), excluding those a Lua script runs inside Redis. */
  readonly perUnit: number;
  readonly byCommand: Readonly<Record<string, number>>;
}

export interface RoundTripResult {
  readonly files: number;
  /** API: storing one file of an upload of `files`. */
  readonly apiPerUploadedFile: CommandCount;
  /** Worker: one job, from taking it to acknowledging it (its idle loop and stalled-job checks included). */
  readonly workerPerJob: CommandCount;
  /** Jobs in the backlog run: the whole corpus queued while the queue was paused. */
  readonly backlogJobs: number;
  /**
   * Worker: one job of that backlog, from resuming the queue to the last acknowledgement. A
   * worker with jobs waiting takes the next one in the same call that acknowledges the last,
   * which a batch smaller than its concurrency never shows.
   */
  readonly workerPerBacklogJob: CommandCount;
  /** API: following the queue's events, per job. */
  readonly apiEventsPerJob: CommandCount;
  /** API: one GET /batches/:id of a finished batch. */
  readonly apiPerPoll: CommandCount;
}

type Phase = 'upload' | 'processing' | 'poll' | 'backlog upload' | 'backlog';

function count(events: readonly { phase: Phase; owner: string; command: string }[], match: (e: { phase: Phase; owner: string }) => boolean, units: number): CommandCount {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const e of events) {
    if (!match(e)) continue;
    byCommand[e.command] = (byCommand[e.command] ?? 0) + 1;
    total++;
  }
  for (const k of Object.keys(byCommand)) byCommand[k] = (byCommand[k] as number) / units;
  return { perUnit: total / units, byCommand };
}

/**
 * Counts the Redis commands the API and the worker send for one batch and for a backlog, with
 * MONITOR (which slows Redis, so this runs apart from every timed phase). Each client address
 * is mapped to its process through /proc, and EVALSHA digests to script names.
 */
export async function countRoundTrips(deps: { base: URL; corpus: Corpus; inspector: Inspector; redisPort: number; pids: { api: number; worker: number } }): Promise<RoundTripResult> {
  const names = scriptNames();
  const items = deps.corpus.files.slice(0, 10).map((f) => ({ name: f.name, mime: f.mime, path: f.path }));
  const events: { phase: Phase; port: number; command: string }[] = [];
  let phase: Phase = 'upload';
  // The worker registers before it has finished starting (INFO, metadata writes): let that pass.
  await sleep(1000);
  // monitor() opens a connection of its own, in MONITOR mode.
  const monitor = await deps.inspector.redis.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    const name = (args[0] ?? '').toLowerCase();
    // ioredis sends EVAL only after a NOSCRIPT answer: the first use of a script on this Redis.
    const command = name === 'evalsha' ? `evalsha ${names.get(args[1] ?? '') ?? (args[1] ?? '').slice(0, 8)}` : name === 'eval' ? 'eval (script not loaded yet)' : name;
    events.push({ phase, port: Number(source.split(':').pop()), command });
  });
  try {
    const upload = await uploadBatch(deps.base, items);
    if (!upload.accepted) throw new Error(`round-trip upload was refused: ${upload.status} ${upload.detail ?? ''}`);
    phase = 'processing';
    const deadline = Date.now() + 60_000;
    while ((await deps.inspector.jobTimes(upload.accepted.jobIds)).length < items.length && Date.now() < deadline) await sleep(100);
    await sleep(500); // trailing acknowledgements and event reads
    phase = 'poll';
    await readBatch(deps.base, upload.accepted.batchId);
    await sleep(100);

    phase = 'backlog upload';
    await deps.inspector.queue.pause();
    await uploadCorpus(deps.base, deps.corpus, 4);
    phase = 'backlog';
    await deps.inspector.queue.resume();
    await waitForEmptyQueue(deps.inspector, 300_000);
    await sleep(500); // trailing acknowledgements
  } finally {
    monitor.disconnect();
    // The phases after this one need a running queue, whatever happened here.
    await deps.inspector.queue.resume();
  }
  const owners = portOwners(deps.redisPort, deps.pids);
  const owned = events.map((e) => ({ ...e, owner: owners.get(e.port) ?? 'other' }));
  const n = items.length;
  return {
    files: n,
    apiPerUploadedFile: count(owned, (e) => e.owner === 'api' && e.phase === 'upload', n),
    workerPerJob: count(owned, (e) => e.owner === 'worker' && !e.phase.startsWith('backlog'), n),
    backlogJobs: deps.corpus.files.length,
    workerPerBacklogJob: count(owned, (e) => e.owner === 'worker' && e.phase === 'backlog', deps.corpus.files.length),
    apiEventsPerJob: count(owned, (e) => e.owner === 'api' && e.phase === 'processing', n),
    apiPerPoll: count(owned, (e) => e.owner === 'api' && e.phase === 'poll', 1),
  };
}
