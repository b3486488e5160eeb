import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Corpus } from './corpus';
import { runClient } from './end-to-end';
import { flushDirtyPages, removeFiles } from './page-cache';
import type { ProcessGroup } from './process-group';
import { readProc } from './proc-stats';
import { median, type Percentiles } from './stats';

export interface ReceiverResult {
  readonly sent: number;
  readonly accepted: number;
  readonly uploadedMB: number;
  readonly cpuS: number;
  readonly cpuMsPerMB: number;
  readonly clientCpuS: number;
  readonly ingestS: number;
  readonly uploadMs: Percentiles;
  readonly peakRssMB: number;
  readonly otherCores: number;
}

export interface IngestComparison {
  readonly reps: number;
  /** Medians over the pairs. */
  readonly receiverMsPerMB: number;
  readonly apiMsPerMB: number;
  /** Median of each pair's API ÷ receiver. */
  readonly ratio: number;
  readonly ratios: readonly number[];
  /** The same against a bare receiver writing as the API does (writeSync), in the same rounds. */
  readonly syncReceiverMsPerMB: number;
  readonly syncRatio: number;
  readonly syncRatios: readonly number[];
  readonly otherCores: number;
}

/** The same client run for the API and the bare receiver: every file of the corpus uploaded, nothing polled. */
function uploadsTo(base: string, deps: { corpus: Corpus; clients: number; filesPerRequest: number }) {
  return {
    base,
    items: deps.corpus.files.map((f) => ({ name: f.name, mime: f.mime, path: f.path })),
    filesPerRequest: deps.filesPerRequest,
    clients: deps.clients,
    pollMs: 250,
    timeoutS: 600,
    uploadOnly: true,
  };
}

/**
 * The API's pass, then its uploads removed: with the worker stopped they stay queued, and left
 * in place they would grow its page cache pass after pass, where the bare receiver's files are
 * removed after each of its passes. The jobs stay queued; nothing takes them in this world.
 */
async function measureApiIngest(deps: { corpus: Corpus; clients: number; filesPerRequest: number; api: { base: URL; pid: number; uploadDir: string } }): Promise<{ cpuMsPerMB: number; otherCores: number }> {
  flushDirtyPages();
  const { result, cpuAtStart, meter } = await runClient(
    uploadsTo(deps.api.base.href, deps),
    { api: deps.api.pid },
  );
  if (result.accepted !== result.sent) throw new Error(`ingest: the API accepted ${result.accepted} of ${result.sent} files`);
  const cpuS = (readProc(deps.api.pid)?.cpuS ?? 0) - (cpuAtStart.get('api') ?? 0);
  removeFiles(deps.api.uploadDir);
  return { cpuMsPerMB: (cpuS * 1000) / (deps.corpus.totalBytes / 1e6), otherCores: meter.otherCores() };
}

/**
 * The API (worker stopped, so nothing else of the service runs) and the bare receiver take the
 * same uploads in turn, `reps` pairs: both see the same machine, which a figure from the
 * end-to-end phase cannot promise (the worker keeps the other core busy there).
 */
export async function compareIngest(deps: { corpus: Corpus; clients: number; filesPerRequest: number; group: ProcessGroup; dir: string; api: { base: URL; pid: number; uploadDir: string }; reps: number }): Promise<IngestComparison> {
  const receiver: number[] = [];
  const syncReceiver: number[] = [];
  const api: number[] = [];
  const other: number[] = [];
  // Untimed: the bare receivers are warmed up each (a fresh process each time), so is the API.
  await measureApiIngest(deps);
  for (let rep = 0; rep < deps.reps; rep++) {
    const bare = await measureBareReceiver(deps);
    const sync = await measureBareReceiver({ ...deps, writer: 'sync' });
    const ours = await measureApiIngest(deps);
    receiver.push(bare.cpuMsPerMB);
    syncReceiver.push(sync.cpuMsPerMB);
    api.push(ours.cpuMsPerMB);
    other.push(bare.otherCores, sync.otherCores, ours.otherCores);
  }
  const ratios = api.map((a, i) => a / (receiver[i] as number));
  const syncRatios = api.map((a, i) => a / (syncReceiver[i] as number));
  return { reps: deps.reps, receiverMsPerMB: median(receiver), apiMsPerMB: median(api), ratio: median(ratios), ratios, syncReceiverMsPerMB: median(syncReceiver), syncRatio: median(syncRatios), syncRatios, otherCores: median(other) };
}

/**
 * The bare receiver (bench/bare-receiver.ts) fed by the end-to-end client with the same
 * requests, clients and streamed bodies: its CPU per uploaded MB is the floor the API's is
 * compared with. Files go to `dir`, removed afterwards.
 */
export async function measureBareReceiver(deps: { corpus: Corpus; clients: number; filesPerRequest: number; group: ProcessGroup; dir: string; writer?: 'stream' | 'sync' }): Promise<ReceiverResult> {
  mkdirSync(deps.dir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'bare-receiver.ts'), deps.dir, deps.writer ?? 'stream'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = deps.group.adopt('bare receiver', child);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bare receiver exited with ${code} before listening`)));
      createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    });
    // Once untimed, as the API it is compared with has its hot paths compiled by then.
    await runClient(uploadsTo(`http://127.0.0.1:${port}`, deps), {});
    removeFiles(deps.dir);
    flushDirtyPages();
    const { result, cpuAtStart, meter } = await runClient(
      uploadsTo(`http://127.0.0.1:${port}`, deps),
      { receiver: server.pid },
    );
    const now = readProc(server.pid);
    const cpuS = (now?.cpuS ?? 0) - (cpuAtStart.get('receiver') ?? 0);
    const uploadedMB = (deps.corpus.totalBytes / 1e6) * (result.accepted / result.sent);
    return {
      sent: result.sent,
      accepted: result.accepted,
      uploadedMB,
      cpuS,
      cpuMsPerMB: (cpuS * 1000) / uploadedMB,
      clientCpuS: result.cpuS,
      ingestS: (result.lastUploadAt - result.firstByteAt) / 1000,
      uploadMs: result.uploadMs,
      peakRssMB: now?.hwmMB ?? Number.NaN,
      otherCores: meter.otherCores(),
    };
  } finally {
    await server.stop();
    rmSync(deps.dir, { recursive: true, force: true });
  }
}
