import { summarizeDrains } from './drain';
import { f, table } from './markdown';
import type { BenchResults } from './results';

const mark = (h: boolean | undefined) => (h === undefined ? '–' : h ? 'yes' : '**no**');

/** The API's CPU per uploaded MB over the whole end-to-end phase (polls and event reads included). */
export function apiCpuPerMB(r: BenchResults): number {
  const e = r.e2e;
  const api = e?.processes.find((p) => p.name === 'api');
  if (!e || !api || !r.corpus || !e.sent) return Number.NaN;
  return (api.cpuS * 1000) / (r.corpus.totalMB * (e.accepted / e.sent));
}

/** Issue 12: the upload path against a bare receiver, the service's CPU against Sharp's, the worker against the limit. */
export function receiveCostSection(r: BenchResults): string[] {
  const e = r.e2e;
  const floor = r.receiver?.cpuMsPerMB;
  const perMB = apiCpuPerMB(r);
  const perImage = Object.fromEntries((e?.processes ?? []).map((p) => [p.name, p.cpuMsPerImage]));
  const serviceMs = (perImage.api ?? Number.NaN) + (perImage.worker ?? Number.NaN) + (perImage.redis ?? Number.NaN);
  const sharpMs = r.limit?.best.cpuMsPerImage;
  const efficiency = sharpMs === undefined ? Number.NaN : sharpMs / serviceMs;
  const drain = r.drain?.[0] ? summarizeDrains(r.drain[0]) : undefined;
  const worker = r.roundTrips?.workerPerJob;
  const backlog = r.roundTrips?.workerPerBacklogJob;
  const ingest = r.ingest;
  const rows = [
    [
      'API CPU per uploaded MB ÷ the bare receiver’s (fs.createWriteStream), taking the same uploads in turn (worker stopped)',
      ingest ? `${f(ingest.apiMsPerMB, 2)} / ${f(ingest.receiverMsPerMB, 2)} ms = ${f(ingest.ratio, 2)} (median of ${ingest.reps} pairs: ${ingest.ratios.map((x) => f(x, 2)).join(', ')}; other load ${f(ingest.otherCores, 2)} cores)` : 'not measured',
      '≤ 1.3',
      mark(ingest ? ingest.ratio <= 1.3 : undefined),
    ],
    [
      'The same ÷ a bare receiver writing as the API does (writeSync as chunks arrive), same rounds',
      ingest ? `${f(ingest.apiMsPerMB, 2)} / ${f(ingest.syncReceiverMsPerMB, 2)} ms = ${f(ingest.syncRatio, 2)} (pairs: ${ingest.syncRatios.map((x) => f(x, 2)).join(', ')})` : 'not measured',
      'reported: what the API costs beyond the bytes',
      '–',
    ],
    ['The same, the API’s whole CPU over the end-to-end phase ÷ the bare receiver run just before it', floor !== undefined && e ? `${f(perMB, 2)} / ${f(floor, 2)} ms = ${f(perMB / floor, 2)}` : 'not measured', '≤ 1.3', mark(floor !== undefined && Number.isFinite(perMB) ? perMB / floor <= 1.3 : undefined)],
    ['End-to-end CPU efficiency: Sharp alone ÷ API + worker + Redis, per image', e && sharpMs !== undefined ? `${f(sharpMs, 1)} / ${f(serviceMs, 1)} ms (${f(perImage.api, 1)} + ${f(perImage.worker, 1)} + ${f(perImage.redis, 2)}) = ${f(efficiency, 2)}` : 'not measured', '≥ 0.88', mark(Number.isFinite(efficiency) ? efficiency >= 0.88 : undefined)],
    ['Worker drain ÷ the Sharp limit runs just before and after it', drain ? `${f(drain.imagesPerS, 2)} / ${f(drain.adjacentLimitImagesPerS, 2)} img/s = ${f(drain.ratioToAdjacentLimit, 2)} (median of ${drain.runs})` : 'not measured', '≥ 0.97', mark(drain ? drain.ratioToAdjacentLimit >= 0.97 : undefined)],
    [
      'Redis round trips per job, worker',
      worker && backlog ? `${f(backlog.perUnit, 1)} with jobs waiting (the drain's case); ${f(worker.perUnit, 1)} for a batch of ${r.roundTrips?.files} at an idle worker` : 'not measured',
      'as few as the guarantees need',
      '–',
    ],
    ['First byte → first job started', e?.firstJobAfterS !== undefined ? `${f(e.firstJobAfterS, 2)} s of ${f(e.wallS, 2)} s` : 'not measured', 'reported', '–'],
  ];
  const lines = ['## The upload path at the cost of the bytes (issue 12), all from this run', '', table(['target', 'measured', 'goal', 'holds'], rows)];
  const b = r.receiver;
  if (b) {
    lines.push(
      '',
      `Bare receiver (bench/bare-receiver.ts: node:http + busboy 1.6.0, each file streamed to disk, nothing else), fed by the end-to-end client with the same ${b.sent} files, requests of 10 and concurrency just before the end-to-end phase: ${f(b.cpuS, 2)} CPU s for ${f(b.uploadedMB, 1)} MB = **${f(b.cpuMsPerMB, 2)} ms per MB**; uploads done after ${f(b.ingestS, 2)} s, request p50/p99 ${f(b.uploadMs.p50)} / ${f(b.uploadMs.p99)} ms, peak RSS ${f(b.peakRssMB, 0)} MB, client ${f(b.clientCpuS, 2)} CPU s, other load ${f(b.otherCores, 2)} cores. The API's figure is its whole CPU over the end-to-end phase (uploads, polls, event reads) per MB accepted.`,
    );
  }
  const fill = r.fill;
  const one = fill?.rows.find((x) => x.filesPerRequest === 1);
  const ten = fill?.rows.find((x) => x.filesPerRequest === 10);
  if (fill && one && ten) {
    lines.push(
      '',
      `### Pipeline fill: would queueing each file's job as it arrives pay? (\`fill\` phase)`,
      '',
      `The corpus end to end in requests of one file, where each job is queued the moment its file is in (what starting jobs before the rest of their request would give, plus a request per file), against requests of ten, alternated, median of ${fill.reps}:`,
      '',
      table(
        ['files per request', 'first byte → first job', 'first byte → last job', 'images/s', 'API CPU ms per image'],
        [one, ten].map((x) => [String(x.filesPerRequest), `${f(x.firstJobAfterS, 2)} s`, `${f(x.wallS, 2)} s`, f(x.imagesPerS, 2), f(x.apiCpuMsPerImage, 1)]),
      ),
      '',
      `Whole run, one file per request ÷ ten: ${f(one.wallS / ten.wallS, 2)} (below 1: starting each job on arrival would shorten it).`,
    );
  }
  const p = r.apiProfile;
  if (p) {
    lines.push(
      '',
      `### Where the API's CPU goes (\`--profile\`: \`node --cpu-prof\`, the samples taken during the end-to-end run)`,
      '',
      `${f(p.busyMs, 0)} ms sampled busy (idle left out; the profiler's own cost makes this run's CPU figures a little higher). Top frames by self time:`,
      '',
      table(['self ms', 'share', 'frame', 'where'], p.top.map((t) => [f(t.selfMs, 1), `${f(t.share * 100, 1)}%`, `\`${t.name}\``, t.where])),
      '',
      'By origin (self time of every frame, summed by the package or part of Node its script belongs to):',
      '',
      table(['origin', 'self ms', 'share'], p.byOrigin.slice(0, 15).map((o) => [o.origin, f(o.selfMs, 1), `${f(o.share * 100, 1)}%`])),
    );
  }
  return lines;
}
