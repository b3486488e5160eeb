// The end-to-end upload client, in a process of its own so its CPU and memory can be told
// apart from the bench's. Run by end-to-end.ts: node --import tsx bench/e2e-client.ts '<E2eClientConfig JSON>'
// Prints {"event":"start"} just before the first byte is sent and the E2eClientResult at the end.
import { closeConnections, type UploadItem, type UploadOutcome } from './http-client';
import { readProc } from './proc-stats';
import { epochMs, percentiles, type Percentiles } from './stats';
import { chunk, followBatches, uploadAll, type TrackedBatch } from './upload-driver';

export interface E2eClientConfig {
  readonly base: string;
  readonly items: readonly UploadItem[];
  readonly filesPerRequest: number;
  readonly clients: number;
  readonly pollMs: number;
  readonly timeoutS: number;
  /** Send the bodies and stop there: for a receiver that queues nothing (the bare receiver). */
  readonly uploadOnly?: boolean;
}

export interface E2eClientResult {
  readonly firstByteAt: number;
  readonly lastUploadAt: number;
  /** When the client saw the last batch finished (poll resolution). */
  readonly lastDoneSeenAt: number;
  readonly sent: number;
  readonly accepted: number;
  readonly completed: number;
  readonly failed: number;
  readonly rejected: number;
  readonly httpStatuses: Record<string, number>;
  readonly errors: readonly string[];
  readonly uploadMs: Percentiles;
  readonly polls: number;
  readonly jobIds: readonly string[];
  readonly timedOut: boolean;
  /** CPU seconds this client spent between the first byte and the end. */
  readonly cpuS: number;
  readonly maxRssMB: number;
}

async function run(config: E2eClientConfig): Promise<E2eClientResult> {
  const base = new URL(config.base);
  const requests = chunk(config.items, config.filesPerRequest);
  const batches: TrackedBatch[] = [];
  const outcomes: UploadOutcome[] = [];
  let uploading = true;
  const toMs = (t: number) => performance.timeOrigin + t;

  process.stdout.write(`${JSON.stringify({ event: 'start' })}\n`);
  const cpu0 = process.cpuUsage();
  const firstByteAt = epochMs();
  const deadline = performance.now() + config.timeoutS * 1000;
  const following = followBatches(base, batches, { pollMs: config.pollMs, deadline, moreComing: () => uploading });
  await uploadAll(base, requests, config.clients, (o) => {
    outcomes.push(o);
    if (o.accepted && !config.uploadOnly) batches.push({ ...o.accepted });
  });
  const lastUploadAt = epochMs();
  uploading = false;
  const polls = await following;
  const cpu = process.cpuUsage(cpu0);

  const statuses: Record<string, number> = {};
  for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  const sum = (f: (b: TrackedBatch) => number) => batches.reduce((s, b) => s + f(b), 0);
  const doneTimes = batches.map((b) => b.doneAt).filter((t): t is number => t !== undefined);
  return {
    firstByteAt,
    lastUploadAt,
    lastDoneSeenAt: doneTimes.length ? toMs(Math.max(...doneTimes)) : Number.NaN,
    sent: config.items.length,
    accepted: config.uploadOnly ? outcomes.reduce((s, o) => s + (o.accepted?.files ?? 0), 0) : sum((b) => b.files),
    completed: sum((b) => b.progress?.completed ?? 0),
    failed: sum((b) => b.progress?.failed ?? 0),
    rejected: outcomes.filter((o) => !o.accepted).reduce((s, o) => s + o.files, 0),
    httpStatuses: statuses,
    errors: outcomes.filter((o) => o.detail).slice(0, 5).map((o) => `${o.status}: ${o.detail}`),
    uploadMs: percentiles(outcomes.map((o) => o.ms)),
    polls,
    jobIds: batches.flatMap((b) => b.jobIds),
    timedOut: batches.some((b) => b.doneAt === undefined),
    cpuS: (cpu.user + cpu.system) / 1e6,
    // VmHWM, not getrusage's maxRSS: Linux carries maxRSS over from the parent across fork and exec.
    maxRssMB: readProc('self')?.hwmMB ?? Number.NaN,
  };
}

run(JSON.parse(process.argv[2] ?? '{}') as E2eClientConfig).then(
  (result) => {
    closeConnections();
    process.stdout.write(`${JSON.stringify({ event: 'result', result })}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
