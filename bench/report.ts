import { summarizeDrains } from './drain';
import type { LimitRow } from './limit';
import { f, table } from './markdown';
import { presetsSection } from './presets-report';
import { receiveCostSection } from './receive-cost-report';
import type { BenchResults } from './results';
import { storageSection } from './storage-cost-report';
import type { Percentiles } from './stats';

/** Published figure for the seed implementation: end to end / Sharp limit on this kind of machine (issue 4). */
export const SEED_E2E_RATIO = 0.37;

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(0)}%`);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${f(x, 1)}%`;
const ms = (p: Percentiles) => `${f(p.p50)} / ${f(p.p95)} / ${f(p.p99)} ms (n=${p.n})`;

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly goal: string;
  readonly holds: boolean | undefined;
}

/** CPU per image of the service side: worker, Redis and API together. */
function serviceCpu(perImage: Readonly<Record<string, number>>): number {
  return (perImage.worker ?? 0) + (perImage.redis ?? 0) + (perImage.api ?? 0);
}

function sameSetting(rows: readonly LimitRow[], inFlight: number): LimitRow | undefined {
  return rows.find((r) => r.threads === 1 && r.inFlight === inFlight && r.variant === 'pipeline' && !r.cache);
}

/** Client cost as a share of the machine: `keep` is the fraction of the cores left to the service. */
export function clientShare(r: BenchResults): { cores: number; keep: number; adjustedLimit: number } | undefined {
  const client = r.e2e?.processes.find((p) => p.name === 'bench client');
  if (!client || !r.e2e || !r.limit) return undefined;
  const cores = client.cpuS / r.e2e.wallS;
  const keep = Math.max(0, 1 - cores / r.machine.cores);
  return { cores, keep, adjustedLimit: r.limit.best.imagesPerS * keep };
}

/** Every target of issue 4 with the figure of this run; `holds` is undefined when the phase did not run. */
export function evaluateTargets(r: BenchResults): Target[] {
  const best = r.limit?.best.imagesPerS;
  const targets: Target[] = [];
  const drain = r.drain?.[0] ? summarizeDrains(r.drain[0]) : undefined;
  const drainRatio = drain ? (Number.isFinite(drain.ratioToAdjacentLimit) ? drain.ratioToAdjacentLimit : drain.imagesPerS / (best ?? Number.NaN)) : Number.NaN;
  targets.push({
    name: 'Worker efficiency (queued jobs, API idle)',
    measured: drain && best ? `${f(drain.imagesPerS, 2)} img/s = ${f(drain.ratioToAdjacentLimit, 2)} × the limit runs beside it (median of ${drain.runs}); ${f(drain.imagesPerS / best, 2)} × the limit table` : 'not measured',
    goal: '≥ 0.95 × limit',
    holds: Number.isFinite(drainRatio) ? drainRatio >= 0.95 : undefined,
  });
  const same = drain && r.limit ? sameSetting(r.limit.rows, drain.workerConcurrency) : undefined;
  const drainCpu = drain ? serviceCpu(drain.cpuMsPerImage) : Number.NaN;
  targets.push({
    name: 'Queue overhead: CPU per image, drain vs limit at the same in-flight',
    measured: drain && same ? `${f(drainCpu, 1)} ms (worker ${f(drain.cpuMsPerImage.worker, 1)} + Redis ${f(drain.cpuMsPerImage.redis, 2)} + API ${f(drain.cpuMsPerImage.api, 2)}) vs ${f(same.cpuMsPerImage, 1)} ms = ${drainCpu >= same.cpuMsPerImage ? '+' : ''}${pct(drainCpu / same.cpuMsPerImage - 1)}` : 'not measured',
    goal: '≤ 5%',
    holds: drain && same ? drainCpu / same.cpuMsPerImage - 1 <= 0.05 : undefined,
  });
  const share = clientShare(r);
  const e2e = r.e2e;
  const e2eLimit = e2e && Number.isFinite(e2e.adjacentLimitImagesPerS) ? e2e.adjacentLimitImagesPerS : best;
  const adjusted = share && e2eLimit ? e2eLimit * share.keep : Number.NaN;
  targets.push({
    name: 'End to end vs limit minus the client’s cost',
    measured: e2e && e2eLimit && share ? `${f(e2e.imagesPerS, 2)} / ${f(adjusted, 2)} img/s = ${f(e2e.imagesPerS / adjusted, 2)} (raw: ${f(e2e.imagesPerS / e2eLimit, 2)} × the limit runs just before and after; ${f(e2e.imagesPerS / (best ?? Number.NaN), 2)} × the limit table)` : 'not measured',
    goal: '≥ 0.9',
    holds: e2e && share ? e2e.imagesPerS / adjusted >= 0.9 : undefined,
  });
  targets.push({
    name: 'Against the seeds (0.37 × limit end to end)',
    measured: e2e && e2eLimit ? `${f(e2e.imagesPerS / e2eLimit / SEED_E2E_RATIO, 2)} × the seeds` : 'not measured',
    goal: '≥ 2.5 ×',
    holds: e2e && e2eLimit ? e2e.imagesPerS / e2eLimit / SEED_E2E_RATIO >= 2.5 : undefined,
  });
  const cpu = (name: string) => e2e?.processes.find((p) => p.name === name)?.cpuMsPerImage;
  const overhead = ((cpu('api') ?? Number.NaN) + (cpu('redis') ?? Number.NaN)) / (cpu('worker') ?? Number.NaN);
  targets.push({
    name: 'API + Redis CPU per image vs worker’s',
    measured: e2e ? `${f(cpu('api'))} + ${f(cpu('redis'))} ms vs ${f(cpu('worker'))} ms = ${pct(overhead)}` : 'not measured',
    goal: '≤ 10%',
    holds: Number.isFinite(overhead) ? overhead <= 0.1 : undefined,
  });
  for (const l of r.latency ?? []) {
    targets.push({
      name: `Upload p99 saturated / idle (${l.variant})`,
      measured: `${f(l.saturated.p99)} / ${f(l.idle.p99)} ms = ${f(l.p99Ratio, 2)}`,
      goal: '≤ 3',
      holds: l.p99Ratio <= 3,
    });
  }
  for (const l of r.longRun ?? []) {
    targets.push({
      name: `Worker RSS over ${l.images} images (${l.label})`,
      measured: `first 100: ${f(l.firstHundredRssMB, 0)} MB, last 100: ${f(l.lastHundredRssMB, 0)} MB (${signed(l.growthPct)}); after warm-up (2nd hundred → last): ${signed(l.growthAfterWarmupPct)}`,
      goal: 'flat after warm-up: ≤ +10%',
      holds: l.growthAfterWarmupPct <= 10,
    });
  }
  const tinyApi = r.enqueue?.apiPeakRssMB;
  const bigApi = e2e?.processes.find((p) => p.name === 'api')?.peakRssMB;
  targets.push({
    name: 'API RSS does not grow with file size',
    measured: tinyApi && bigApi ? `peak ${f(bigApi, 0)} MB with ${f((r.corpus?.totalMB ?? 0) / (r.corpus?.files || 1), 1)} MB files vs ${f(tinyApi, 0)} MB with 1 KB files` : 'not measured',
    goal: '≤ 1.5 ×',
    holds: tinyApi && bigApi ? bigApi / tinyApi <= 1.5 : undefined,
  });
  const poll = r.pollCost;
  targets.push({
    name: 'Batch poll cost vs queue history',
    measured: poll ? `p50 ${f(poll.withHistory.pollMs.p50, 2)} ms with ${poll.withHistory.completedJobs} completed jobs vs ${f(poll.baseline.pollMs.p50, 2)} ms with ${poll.baseline.completedJobs} = ${f(poll.p50Ratio, 2)}` : 'not measured',
    goal: 'same: ≤ 1.5 ×',
    holds: poll ? poll.p50Ratio <= 1.5 : undefined,
  });
  const st = r.streams;
  targets.push({
    name: `Upload p99 with ${st?.with.streams ?? 1000} open event streams / without (issue 8)`,
    measured: st ? `${f(st.with.uploadMs.p99)} / ${f(st.without.uploadMs.p99)} ms = ${f(st.p99Ratio, 2)}` : 'not measured',
    goal: '≤ 1.5 ×',
    holds: st ? st.p99Ratio <= 1.5 && st.lost === 0 : undefined,
  });
  targets.push({
    name: 'Enqueue throughput, tiny images, one API process',
    measured: r.enqueue ? `${f(r.enqueue.filesPerS, 0)} files/s` : 'not measured',
    goal: '≥ 1,000 files/s',
    holds: r.enqueue ? r.enqueue.filesPerS >= 1000 : undefined,
  });
  targets.push({
    name: 'Nothing lost end to end',
    measured: e2e ? `accepted ${e2e.accepted}, completed ${e2e.completed}, failed ${e2e.failed}, lost ${e2e.lost}, rejected ${e2e.rejected}` : 'not measured',
    goal: '0 lost, 0 failed',
    holds: e2e ? e2e.lost === 0 && e2e.failed === 0 && e2e.rejected === 0 : undefined,
  });
  return targets;
}

function decodeMemorySection(r: BenchResults): string[] {
  const rows = r.decodeMemory;
  if (!rows?.length) return [];
  return [
    '## Decode memory: the worst accepted inputs (issue 15)',
    '',
    `Each row: one fresh process running what the worker runs, ${rows[0]?.inFlight} copies of the input at once (the default WORKER_CONCURRENCY), one libvips thread each. Baseline is the same process's RSS before its first image; the budget per job is MAX_INPUT_PIXELS × 2 bytes, and each decode shape gets its share (src/pipeline/decode-budget.ts).`,
    '',
    table(
      ['input', 'refused', 'baseline RSS MB', 'peak RSS MB', 'peak / baseline', 'per job MB', 'budget per job MB'],
      rows.map((row) => [row.input, `${row.refused}/${row.inFlight}`, f(row.baselineRssMB, 0), f(row.peakRssMB, 0), f(row.peakRssMB / row.baselineRssMB, 2), f(row.perJobMB, 0), f(row.budgetPerJobMB, 0)]),
    ),
    '',
  ];
}

function autoQualitySection(r: BenchResults): string[] {
  const a = r.autoQuality;
  if (!a) return [];
  const d = (x: { min: number; p50: number; max: number }, digits: number) => `${f(x.min, digits)} / ${f(x.p50, digits)} / ${f(x.max, digits)}`;
  const rows = a.rows.map((row) => {
    const saved = 1 - row.autoBytes / row.fixedBytes;
    const cpu = row.autoCpuMs / row.fixedCpuMs;
    return [
      row.label,
      `${row.images} ${row.kind}s`,
      `${f(row.autoBytes / 1e6, 2)} / ${f(row.fixedBytes / 1e6, 2)}`,
      `${pct(saved)}${row.kind === 'screenshot' ? '' : saved >= 0.25 ? ' (yes)' : ' (**no**)'}`,
      d(row.quality, 0),
      d(row.score, 4),
      `${d(row.servedScore, 4)} (${row.servedBelowTarget} below)`,
      d(row.fixedScore, 4),
      `${f(row.autoCpuMs, 0)} / ${f(row.fixedCpuMs, 0)}`,
      `${f(cpu, 2)} ${cpu <= 1.3 ? '(yes)' : '(**no**)'}`,
    ];
  });
  return [
    `## Auto quality against fixed q${a.fixedQuality} (issue 7)`,
    '',
    `\`encodeWithAutoQuality\` (src/pipeline/auto-quality.ts) with the default target, SSIM on luma ≥ ${a.target} at output size, against \`quality: ${a.fixedQuality}\` of the same format and settings (upright, 1280 px inside, no enlargement, colour; JPEG flattened on white). Both jobs run from the file (decode, resize, encode), one image at a time with one libvips thread, CPU from process.cpuUsage() around each; AVIF on every ${a.avifEvery}th corpus file only. "real photos" are the camera photos of test/fixtures/real (the corpus's synthetic photos carry per-pixel grain, which every encoder smooths and SSIM counts in full). "search score" is what the variant reports: for outputs of at least 16 whole 64 px tiles, the search's score on its mosaic of 1/16 of them at full resolution; "served full-size score" is the same metric on the output actually served against the whole render (a quarter of its windows above 512×512), measured outside the CPU figures. Goals: ≥ 25% fewer bytes on photos, ≤ 1.3 × the CPU of the fixed-quality job.`,
    '',
    table(['setting', 'inputs', 'MB auto / q80', 'fewer bytes (goal ≥ 25% on photos)', 'quality min / p50 / max', 'search score min / p50 / max', 'served full-size score min / p50 / max', `q${a.fixedQuality} score min / p50 / max`, 'CPU ms/image auto / q80', 'CPU × (goal ≤ 1.3)'], rows),
  ];
}

function limitSection(r: BenchResults): string[] {
  if (!r.limit) return [];
  const rows = [...r.limit.rows, ...r.limit.side].map((row) => [
    row === r.limit?.best ? `**${row.label}** (limit)` : row.label,
    `${f(row.imagesPerS, 2)} (${f(row.imagesPerSMin, 1)}–${f(row.imagesPerSMax, 1)})`,
    f(row.imagesPerS / (r.limit?.best.imagesPerS ?? Number.NaN), 2),
    f(row.inputMPPerS, 0),
    f(row.inputMBPerS, 1),
    f(row.cpuMsPerImage, 1),
    f(row.maxRssMB, 0),
    String(row.errors),
    f(row.otherCores, 2),
  ]);
  const lines = [
    '## Sharp limit (processStoredImage + DEFAULT_SPEC, as the worker runs it, one process, disk to disk)',
    '',
    `Each row: median of ${r.limit.best.runs} fresh child process(es) over the whole corpus (min–max in brackets). "other load" is CPU used by processes that are not the bench's, in cores.`,
    '',
    table(['setting', 'images/s', '× limit', 'input MP/s', 'input MB/s', 'CPU ms/image', 'peak RSS MB', 'errors', 'other load'], rows),
  ];
  const single = r.limit.rows.find((row) => row.inFlight === 1);
  if (single) {
    lines.push('', `Time per image by input format, one in flight: ${Object.entries(single.msByFormat).map(([k, v]) => `${k} ${f(v, 0)} ms`).join(', ')}.`);
  }
  const g = r.limit.grayscale;
  const bw = sameSetting(r.limit.rows, 2);
  const grey = r.limit.side.find((s) => s.variant === 'grayscale');
  if (g && bw && grey) {
    lines.push(
      '',
      `toColourspace('b-w') (the pipeline) vs grayscale() at the same setting: ${f(bw.imagesPerS, 2)} vs ${f(grey.imagesPerS, 2)} images/s (${f((bw.imagesPerS / grey.imagesPerS - 1) * 100, 0)}% faster); outputs have ${g.pipelineChannels} vs ${g.grayscaleChannels} channel(s), ${f(g.pipelineBytes / 1e6, 2)} vs ${f(g.grayscaleBytes / 1e6, 2)} MB in total, mean pixel difference ${f(g.meanPixelDiff, 2)} levels of 255.`,
    );
  }
  return lines;
}

function throughputSection(r: BenchResults): string[] {
  const best = r.limit?.best;
  if (!best) return [];
  const cores = r.machine.cores;
  const row = (what: string, ips: number, mpps: number, cpuMs: number) => [what, f(ips, 2), f(mpps, 0), f(ips / best.imagesPerS, 2), f(cpuMs, 1), f((cores * 1000) / cpuMs, 1), f(best.cpuMsPerImage / cpuMs, 2)];
  const rows: string[][] = [row(`Sharp limit (${best.label})`, best.imagesPerS, best.inputMPPerS, best.cpuMsPerImage)];
  for (const d of (r.drain ?? []).map(summarizeDrains)) rows.push(row(`Worker drain, ${d.label} (median of ${d.runs})`, d.imagesPerS, d.inputMPPerS, serviceCpu(d.cpuMsPerImage)));
  const e = r.e2e;
  if (e) {
    const perImage = Object.fromEntries(e.processes.map((p) => [p.name, p.cpuMsPerImage]));
    rows.push(row(`End to end over HTTP (${e.target}), service processes`, e.imagesPerS, e.inputMPPerS, serviceCpu(perImage)));
    rows.push(row('End to end, service + bench client', e.imagesPerS, e.inputMPPerS, serviceCpu(perImage) + (perImage['bench client'] ?? 0)));
  }
  const share = clientShare(r);
  if (share) rows.push([`Limit minus the bench client's share (${f(share.cores, 2)} cores)`, f(share.adjustedLimit, 2), '', f(share.adjustedLimit / best.imagesPerS, 2), '', '', '']);
  return [
    '## Throughput, side by side',
    '',
    `"CPU ms / image" adds up the processes named; "CPU-bound ceiling" is what ${cores} cores would give at that cost with nothing else running, a figure that other load on the machine does not move. "× limit (CPU)" compares costs: 1.00 means no overhead over Sharp alone.`,
    '',
    table(['what', 'images/s', 'input MP/s', '× limit', 'CPU ms / image', 'CPU-bound ceiling img/s', '× limit (CPU)'], rows),
  ];
}

function e2eSection(r: BenchResults): string[] {
  const e = r.e2e;
  if (!e) return [];
  const rows = e.processes.map((p) => [p.name, f(p.cpuS, 2), f(p.cpuMsPerImage, 1), f(p.cpuMsPerImage / (e.processes.find((q) => q.name === 'worker')?.cpuMsPerImage ?? Number.NaN) * 100, 1) + '%', f(p.peakRssMB, 0)]);
  const best = Number.isFinite(e.adjacentLimitImagesPerS) ? e.adjacentLimitImagesPerS : r.limit?.best.imagesPerS;
  const share = clientShare(r);
  const lines = [
    '## End to end',
    '',
    `${e.sent} files in requests of ${e.filesPerRequest}, ${e.clients} concurrent clients (streamed bodies), batches followed by polling the oldest unfinished one every ${e.pollMs} ms (${e.polls} polls in all). Timed from the first byte sent to the last file completed (${e.endTimedBy}): **${f(e.wallS, 2)} s, ${f(e.imagesPerS, 2)} images/s, ${f(e.inputMPPerS, 0)} input MP/s, ${f(e.inputMBPerS, 1)} MB/s**; uploads done after ${f(e.ingestS, 2)} s. HTTP statuses ${JSON.stringify(e.httpStatuses)}; accepted ${e.accepted}, completed ${e.completed}, failed ${e.failed}, rejected ${e.rejected}, lost ${e.lost}${e.timedOut ? ' (**timed out**)' : ''}. Upload request latency p50/p95/p99 ${ms(e.uploadMs)}. Other load during the run: ${f(e.otherCores, 2)} cores.`,
    '',
    table(['process', 'CPU s', 'CPU ms / image', 'vs worker', 'peak RSS MB'], rows),
  ];
  if (e.firstJobAfterS !== undefined && e.processingS !== undefined) {
    lines.push('', `The first job started ${f(e.firstJobAfterS, 2)} s after the first byte (${pct(e.firstJobAfterS / e.wallS)} of the run): a request's files are enqueued only once the whole request (${e.filesPerRequest} files) has been received. From the first job started to the last finished: ${f(e.processingS, 2)} s, ${f(e.processingImagesPerS, 2)} images/s.`);
  }
  const apiMs = e.processes.find((p) => p.name === 'api')?.cpuMsPerImage;
  if (apiMs !== undefined && r.enqueue && r.corpus) {
    const mbPerImage = r.corpus.totalMB / r.corpus.files;
    lines.push('', `API CPU per image ${f(apiMs, 1)} ms here against ${f(r.enqueue.cpuMsPerFile.api, 2)} ms per 1 KB file in the enqueue phase: receiving the bytes (multipart parsing, content sniffing, writing to disk) costs about ${f((apiMs - r.enqueue.cpuMsPerFile.api) / mbPerImage, 1)} ms of API CPU per MB uploaded.`);
  }
  if (best && share) {
    const gap = best - e.imagesPerS;
    const explained = best * (1 - share.keep);
    lines.push('', `Limit runs just before and just after this phase: ${f(best, 2)} images/s on average. Gap to it: ${f(gap, 2)} images/s. The bench client used ${f(share.cores, 2)} of ${r.machine.cores} cores on the same machine, worth ${f(explained, 2)} images/s of Sharp time: it explains ${gap > 0 ? pct(explained / gap) : 'all'} of the gap.`);
  }
  return lines;
}

function latencySection(r: BenchResults): string[] {
  if (!r.latency?.length) return [];
  const rows = r.latency.map((l) => [l.variant, ms(l.idle), ms(l.saturated), f(l.p50Ratio, 2), f(l.p99Ratio, 2), String(l.backlog), f(l.otherCores, 2)]);
  return [
    '## Upload latency (one small file per request, one request at a time)',
    '',
    'Idle: the worker runs with an empty queue. Saturated: the corpus was queued several times over while no worker ran, then the worker started and the probes ran while it worked through that backlog.',
    '',
    table(['worker', 'idle p50 / p95 / p99', 'saturated p50 / p95 / p99', 'p50 ratio', 'p99 ratio', 'backlog images', 'other load'], rows),
  ];
}

function drainSection(r: BenchResults): string[] {
  if (!r.drain?.length) return [];
  const best = r.limit?.best;
  const rows = r.drain.map(summarizeDrains).map((d) => {
    const same = r.limit ? sameSetting(r.limit.rows, d.workerConcurrency) : undefined;
    return [
      d.label,
      `${d.completed}/${d.images * d.runs}`,
      f(d.drainS, 2),
      `${f(d.imagesPerS, 2)} (${f(d.imagesPerSMin, 1)}–${f(d.imagesPerSMax, 1)})`,
      `${f(d.ratioToAdjacentLimit, 2)} (${f(d.adjacentLimitImagesPerS, 1)})`,
      f(d.imagesPerS / (best?.imagesPerS ?? Number.NaN), 2),
      same ? f(d.imagesPerS / same.imagesPerS, 2) : '–',
      f(d.startupS, 2),
      f(d.cpuMsPerImage.worker, 1),
      f(d.cpuMsPerImage.redis, 2),
      f(d.cpuMsPerImage.api, 2),
      // CPU time per image is steadier than images/s when other processes share the cores.
      same ? f(same.cpuMsPerImage / serviceCpu(d.cpuMsPerImage), 2) : '–',
      f(d.workerPeakRssMB, 0),
      f(d.otherCores, 2),
    ];
  });
  return [
    '## Worker efficiency (jobs queued with files on disk, API idle)',
    '',
    'Each drain sits between two runs of the Sharp limit at its best setting and is compared with their mean ("adjacent limit"), so all three see the same machine; medians over the drains (min–max of images/s in brackets). Drain time runs from the first job taken to the last one finished (the worker’s own timestamps in Redis); each drain’s worker first processes the corpus once untimed (its hot paths compiled, as the limit’s runs have theirs), then the corpus is uploaded again with the queue paused, the dirty pages written out (`sync`) and the queue resumed; "start-up s" is spawning Node and connecting, paid once per process.',
    '',
    table(['worker', 'done', 'drain s', 'images/s', '× adjacent limit (its img/s)', '× limit table', '× limit table, same in-flight', 'start-up s', 'worker CPU ms/img', 'Redis CPU ms/img', 'API CPU ms/img', '× limit by CPU, same in-flight', 'worker peak RSS MB', 'other load'], rows),
  ];
}

function commandsSection(r: BenchResults): string[] {
  const t = r.roundTrips;
  if (!t) return [];
  const by = (c: { byCommand: Readonly<Record<string, number>> }) =>
    Object.entries(c.byCommand)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${f(v, 1)}`)
      .join(', ');
  return [
    '## Redis commands (MONITOR, separate from the timed phases)',
    '',
    `One batch of ${t.files} corpus files uploaded and processed, then a backlog: the whole corpus (${t.backlogJobs} files) queued with the queue paused, counted from resuming it to the last job finished. Commands a Lua script runs inside Redis are not counted (one EVALSHA is one round trip).`,
    '',
    table(
      ['who', 'per', 'commands', 'by command'],
      [
        ['API', 'uploaded file', f(t.apiPerUploadedFile.perUnit, 1), by(t.apiPerUploadedFile)],
        ['worker', 'job of the batch', f(t.workerPerJob.perUnit, 1), by(t.workerPerJob)],
        ['worker', 'job of the backlog', f(t.workerPerBacklogJob.perUnit, 1), by(t.workerPerBacklogJob)],
        ['API (queue events)', 'job', f(t.apiEventsPerJob.perUnit, 1), by(t.apiEventsPerJob)],
        ['API', 'GET /batches/:id', f(t.apiPerPoll.perUnit, 0), by(t.apiPerPoll)],
      ],
    ),
  ];
}

function pollSection(r: BenchResults): string[] {
  const p = r.pollCost;
  if (!p) return [];
  return [
    '## Batch poll cost vs queue history',
    '',
    `GET /batches/:id of one finished batch of 10, ${p.baseline.pollMs.n} sequential polls each time. The history was added as completed jobs with the key shapes of real ones (job hash copied from a real finished job with new ids, entry in the completed sorted set, a batch record per ten) in ${f(p.seedSeconds, 1)} s; Redis grew by ${f(p.bytesPerCompletedJob, 0)} bytes per completed job.`,
    '',
    table(
      ['completed jobs in Redis', 'p50 / p95 / p99'],
      [
        [String(p.baseline.completedJobs), ms(p.baseline.pollMs)],
        [String(p.withHistory.completedJobs), ms(p.withHistory.pollMs)],
      ],
    ),
    '',
    `Ratio p50 ${f(p.p50Ratio, 2)}, p99 ${f(p.p99Ratio, 2)}.`,
  ];
}

function streamsSection(r: BenchResults): string[] {
  const s = r.streams;
  if (!s) return [];
  const row = (c: typeof s.with) => [String(c.streams), ms(c.uploadMs), `${f(c.loopDelayMs.p50, 1)} / ${f(c.loopDelayMs.p99, 1)} / ${f(c.loopDelayMs.max, 1)} ms`, f(c.apiRssMB, 0)];
  return [
    '## Open event streams (GET /batches/:id/events, one API process)',
    '',
    `Worker stopped, so the API alone is measured. ${s.with.streams} streams held open on ${s.batches} waiting batches by raw node:http clients (each received its snapshot; ${s.lost} ended early), single small uploads one at a time in each condition. Event-loop delay measured inside the API (perf_hooks monitorEventLoopDelay, preloaded, 10 ms resolution: its samples include that interval, so 10 ms is no delay) over each condition's uploads.`,
    '',
    table(['open streams', 'upload p50 / p95 / p99', 'API event-loop delay p50 / p99 / max', 'API RSS MB'], [row(s.without), row(s.with)]),
    '',
    `Upload p99 ratio with / without: ${f(s.p99Ratio, 2)}.`,
  ];
}

function enqueueSection(r: BenchResults): string[] {
  const e = r.enqueue;
  if (!e) return [];
  return [
    '## Enqueue throughput (tiny images, no worker running)',
    '',
    `${e.files} files of ${e.filesPerRequest} per request, ${e.clients} concurrent clients: **${f(e.filesPerS, 0)} files/s** (${f(e.wallS, 2)} s), accepted ${e.accepted}, rejected ${e.rejected}; request latency p50/p95/p99 ${ms(e.requestMs)}. CPU per file: API ${f(e.cpuMsPerFile.api, 2)} ms, Redis ${f(e.cpuMsPerFile.redis, 2)} ms, bench client ${f(e.cpuMsPerFile['bench client'], 2)} ms. API peak RSS ${f(e.apiPeakRssMB, 0)} MB. Other load ${f(e.otherCores, 2)} cores.`,
  ];
}

function longRunSection(r: BenchResults): string[] {
  if (!r.longRun?.length) return [];
  const rows = r.longRun.map((l) => [l.label, `${l.completed}/${l.images}`, f(l.imagesPerS, 2), f(l.firstHundredRssMB, 0), f(l.lastHundredRssMB, 0), signed(l.growthPct), signed(l.growthAfterWarmupPct), f(l.peakRssMB, 0), l.rssByHundredMB.map((x) => f(x, 0)).join(' '), f(l.otherCores, 2)]);
  return [
    '## Long run: worker memory by allocator',
    '',
    'Jobs queued straight through the project’s enqueueBatch with their files staged on disk, then drained by one worker (service defaults) whose RSS is sampled every 200 ms against the number of images finished.',
    '',
    table(['allocator', 'done', 'images/s', 'RSS first 100 MB', 'RSS last 100 MB', 'growth', 'growth after warm-up', 'peak RSS MB', 'mean RSS per hundred images, MB', 'other load'], rows),
  ];
}

/** The whole report as markdown: what BENCHMARKS.md holds and what the bench prints. */
export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const c = r.corpus;
  const targets = evaluateTargets(r);
  const mark = (h: boolean | undefined) => (h === undefined ? '–' : h ? 'yes' : '**no**');
  return [
    `# imgflow benchmarks${r.quick ? ' (quick mode: tiny corpus, for checking the bench, not for figures)' : ''}`,
    '',
    `Produced by \`${r.command}\` on ${r.date} in ${f(r.durationS, 0)} s.`,
    '',
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGB} GB RAM, Linux ${m.kernel}. Node ${m.node}, sharp ${m.sharp}, libvips ${m.libvips}, Redis ${m.redis}, jemalloc ${m.jemalloc ?? 'not installed'}.`,
    `Load average before ${r.loadBefore.map((x) => f(x, 2)).join(' / ')}, after ${r.loadAfter.map((x) => f(x, 2)).join(' / ')} (1 / 5 / 15 min). Other helpers share these cores: each phase reports the CPU that processes other than the bench's used meanwhile ("other load", in cores).`,
    '',
    c
      ? `Corpus (seed ${c.seed}, scale ${c.scale}): ${c.files} files, ${Object.entries(c.byFormat).map(([k, v]) => `${v} ${k}`).join(', ')}; ${f(c.totalMB, 1)} MB, ${f(c.megapixels, 0)} MP; ${c.orientation6} with EXIF orientation 6, ${c.rgba} RGBA; largest ${c.largestBytes} bytes (limit ${c.maxBytes}); digest ${c.digest.slice(0, 16)}; ${c.generatedSeconds ? `generated in ${f(c.generatedSeconds, 0)} s` : 'from the cache'}.`
      : '',
    '',
    '## Targets (issue 4), all from this run',
    '',
    table(['target', 'measured', 'goal', 'holds'], targets.map((t) => [t.name, t.measured, t.goal, mark(t.holds)])),
    '',
    ...receiveCostSection(r),
    '',
    ...throughputSection(r),
    '',
    ...limitSection(r),
    ...decodeMemorySection(r),
    '',
    ...autoQualitySection(r),
    '',
    ...presetsSection(r),
    '',
    ...e2eSection(r),
    '',
    ...drainSection(r),
    '',
    ...latencySection(r),
    '',
    ...commandsSection(r),
    '',
    ...pollSection(r),
    '',
    ...enqueueSection(r),
    '',
    ...streamsSection(r),
    '',
    ...storageSection(r),
    '',
    ...longRunSection(r),
    '',
    ...(r.notes.length ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
    ...(r.failures.length ? ['## Phases that failed', '', ...r.failures.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
