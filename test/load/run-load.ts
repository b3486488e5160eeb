/**
 * `npm run test:load`: a private redis-server, the API and the worker as separate processes (from
 * source, through tsx), and 20 clients uploading at least 500 generated photos over loopback while
 * the worker is saturated. Every accepted file must end completed or failed (lost = 0), no upload
 * may get a 5xx, and the API's RSS and Redis's memory must stay under the bounds below. Exits 1
 * otherwise. Everything it starts is stopped by pid, and its temporary directory removed, on any exit.
 *
 * Settings (environment): LOAD_FILES (520), LOAD_CLIENTS (20), LOAD_DEADLINE_S (300).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { closeConnections, readBatch, type UploadItem, type UploadOutcome } from '../../bench/http-client';
import { createProcessGroup, type ManagedProcess, type ProcessGroup } from '../../bench/process-group';
import { readProc } from '../../bench/proc-stats';
import { createRandom, randomInt, type Random } from '../../bench/random';
import { createInspector, serviceEnv, type Inspector, type ServiceWorld } from '../../bench/stack';
import { percentiles, sleep } from '../../bench/stats';
import { synthesizePhoto } from '../../bench/synthesize';
import { followBatches, uploadAll, type TrackedBatch } from '../../bench/upload-driver';
import { freePort, startRedisServer } from '../helpers/redis';

const REPO = path.resolve(__dirname, '../..');
const FILES = Number(process.env.LOAD_FILES ?? 520);
const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 20);
const DEADLINE_MS = Number(process.env.LOAD_DEADLINE_S ?? 300) * 1000;
const WORKER_CONCURRENCY = 2; // one image per core on this 2-core machine

// The bounds this run is judged by. The API streams uploads to disk, so its memory must not
// follow the volume uploaded (about 100 MB here): measured peaks were 160-190 MB from a
// 115-125 MB baseline. Redis holds a few KB per job plus batch records: measured 3.5 MB.
const BOUNDS = { apiRssMB: 250, apiRssGrowthMB: 100, redisMB: 25 } as const;

/** Photo-like JPEGs 400–1600 px wide and PNGs up to 1000 px, seeded so every run sends the same bytes. */
async function makeCorpus(random: Random): Promise<UploadItem[]> {
  return Promise.all(
    Array.from({ length: 24 }, async (_, i) => {
      const png = i % 3 === 2;
      const width = png ? randomInt(random, 400, 1000) : randomInt(random, 400, 1600);
      const height = Math.round(width * (i % 2 ? 3 / 4 : 4 / 3));
      const raster = await synthesizePhoto(createRandom(randomInt(random, 0, 2 ** 31)), width, height, 12);
      const image = sharp(raster.data, { raw: { width, height, channels: raster.channels } });
      const data = await (png ? image.png() : image.jpeg({ quality: 85 })).toBuffer();
      return { name: `load-${i}.${png ? 'png' : 'jpg'}`, mime: png ? 'image/png' : 'image/jpeg', data };
    }),
  );
}

/** Requests of 1–10 files each, drawn from the corpus, until at least `files` are planned. */
function planRequests(random: Random, corpus: readonly UploadItem[], files: number): UploadItem[][] {
  const requests: UploadItem[][] = [];
  for (let planned = 0; planned < files; ) {
    const size = randomInt(random, 1, 10);
    requests.push(Array.from({ length: size }, () => corpus[randomInt(random, 0, corpus.length - 1)] as UploadItem));
    planned += size;
  }
  return requests;
}

async function startService(group: ProcessGroup, role: 'api' | 'worker', world: ServiceWorld, env: Record<string, string>, ready: () => Promise<boolean>): Promise<ManagedProcess> {
  const proc = group.start(role, process.execPath, ['--import', 'tsx', path.join(REPO, 'src', role, 'main.ts')], {
    env: serviceEnv(world, env),
    logFile: path.join(world.logDir, `${role}.log`),
    cwd: REPO,
  });
  const deadline = Date.now() + 30_000;
  while (!(await ready().catch(() => false))) {
    if (proc.exited() || Date.now() > deadline) throw new Error(`the ${role} did not start; see ${world.logDir}/${role}.log`);
    await sleep(100);
  }
  return proc;
}

interface Samples {
  apiRssMB: number[];
  redisMB: number[];
  backlog: number[];
  /** Samples taken while uploads ran in which the worker had WORKER_CONCURRENCY jobs active. */
  busyWhileUploading: number;
  whileUploading: number;
}

/** Samples the API's RSS, Redis's used_memory and the queue every 250 ms until stopped. */
function startSampling(api: ManagedProcess, inspector: Inspector, uploading: () => boolean): { samples: Samples; stop: () => Promise<void> } {
  const samples: Samples = { apiRssMB: [], redisMB: [], backlog: [], busyWhileUploading: 0, whileUploading: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = readProc(api.pid)?.rssMB;
      if (rss !== undefined) samples.apiRssMB.push(rss);
      const [memory, counts] = await Promise.all([inspector.redis.info('memory'), inspector.queue.getJobCounts('waiting', 'prioritized', 'active')]);
      samples.redisMB.push(Number(/^used_memory:(\d+)/m.exec(memory)?.[1] ?? 0) / 1024 / 1024);
      samples.backlog.push((counts.waiting ?? 0) + (counts.prioritized ?? 0)); // every job has a priority (queue/jobs.ts)
      if (uploading()) {
        samples.whileUploading++;
        if ((counts.active ?? 0) >= WORKER_CONCURRENCY) samples.busyWhileUploading++;
      }
      await sleep(250);
    }
  })();
  return { samples, stop: async () => ((running = false), await loop) };
}

const mb = (v: number) => `${v.toFixed(1)} MB`;
const max = (values: readonly number[]) => values.reduce((a, b) => Math.max(a, b), 0);

async function run(group: ProcessGroup, root: string): Promise<string[]> {
  mkdirSync(path.join(root, 'redis'));
  const redis = await startRedisServer({ dir: path.join(root, 'redis') });
  group.adopt('redis', redis.process);
  const world: ServiceWorld = {
    redisUrl: redis.url,
    prefix: `imgflow-load-${randomUUID()}`,
    uploadDir: path.join(root, 'uploads'),
    processedDir: path.join(root, 'processed'),
    logDir: path.join(root, 'logs'),
    logLevel: 'warn',
  };
  for (const dir of [world.uploadDir, world.processedDir, world.logDir]) mkdirSync(dir, { recursive: true });
  const inspector = createInspector(world);
  const services: ManagedProcess[] = [];
  try {
    const port = await freePort();
    const base = new URL(`http://127.0.0.1:${port}`);
    const api = await startService(group, 'api', world, { HOST: '127.0.0.1', PORT: String(port) }, async () => (await fetch(new URL('/readyz', base))).ok);
    services.push(api);
    services.push(await startService(group, 'worker', world, { WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) }, async () => (await inspector.queue.getWorkersCount()) > 0));

    const random = createRandom(20_26);
    const corpus = await makeCorpus(random);
    const requests = planRequests(random, corpus, FILES);
    const baselineRssMB = readProc(api.pid)?.rssMB ?? 0;

    let uploading = true;
    const sampling = startSampling(api, inspector, () => uploading);
    const outcomes: UploadOutcome[] = [];
    const started = performance.now();
    await uploadAll(base, requests, CLIENTS, (o) => outcomes.push(o));
    uploading = false;
    const uploadS = (performance.now() - started) / 1000;

    const batches: TrackedBatch[] = outcomes.flatMap((o) => (o.accepted ? [{ ...o.accepted }] : []));
    const drainDeadline = performance.now() + Math.max(10_000, DEADLINE_MS - (performance.now() - started) - 30_000);
    await followBatches(base, batches, { pollMs: 250, deadline: drainDeadline, moreComing: () => false });
    const totalS = (performance.now() - started) / 1000;
    await sampling.stop();
    // One last read of every batch, so the counts come from the service's own final answer.
    const finals = await Promise.all(batches.map((b) => readBatch(base, b.batchId).catch(() => undefined)));

    const accepted = batches.reduce((sum, b) => sum + b.files, 0);
    const completed = finals.reduce((sum, p) => sum + (p?.completed ?? 0), 0);
    const failed = finals.reduce((sum, p) => sum + (p?.failed ?? 0), 0);
    const lost = accepted - completed - failed;
    const status5xx = outcomes.filter((o) => o.status >= 500).length;
    const unanswered = outcomes.filter((o) => o.status === 0).length;
    const rejected = outcomes.filter((o) => o.status >= 400 && o.status < 500).length;
    const latency = percentiles(outcomes.filter((o) => o.status === 202).map((o) => o.ms));
    const { samples } = sampling;
    const peakRssMB = max(samples.apiRssMB);
    const peakRedisMB = max(samples.redisMB);
    const outputs = readdirSync(world.processedDir).length;

    const lines = [
      `imgflow load: ${requests.length} requests of 1-10 files, ${CLIENTS} clients, worker concurrency ${WORKER_CONCURRENCY}, loopback`,
      `  files        accepted ${accepted} / completed ${completed} / failed ${failed} / lost ${lost}   (outputs on disk: ${outputs})`,
      `  uploads      202: ${latency.n}  4xx: ${rejected}  5xx: ${status5xx}  no answer: ${unanswered}   in ${uploadS.toFixed(1)} s; all done after ${totalS.toFixed(1)} s`,
      `  latency ms   p50 ${latency.p50.toFixed(0)}  p95 ${latency.p95.toFixed(0)}  p99 ${latency.p99.toFixed(0)}  max ${latency.max.toFixed(0)}`,
      `  saturation   worker had ${WORKER_CONCURRENCY} jobs active in ${samples.busyWhileUploading}/${samples.whileUploading} samples while uploads ran; backlog peaked at ${max(samples.backlog)} jobs`,
      `  API RSS      baseline ${mb(baselineRssMB)}, peak ${mb(peakRssMB)} (bound ${BOUNDS.apiRssMB} MB, growth bound ${BOUNDS.apiRssGrowthMB} MB)`,
      `  Redis        used_memory peak ${mb(peakRedisMB)} (bound ${BOUNDS.redisMB} MB)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    const problems: string[] = [];
    if (accepted < FILES) problems.push(`only ${accepted} of ${FILES} files were accepted`);
    if (lost !== 0) problems.push(`${lost} accepted files neither completed nor failed`);
    if (outputs < completed) problems.push(`${completed} files completed but only ${outputs} outputs are on disk`);
    if (status5xx > 0) problems.push(`${status5xx} uploads got a 5xx`);
    if (unanswered > 0) problems.push(`${unanswered} uploads got no answer`);
    if (rejected > 0) problems.push(`${rejected} valid uploads were rejected: ${outcomes.find((o) => o.status >= 400)?.detail ?? ''}`);
    if (peakRssMB > BOUNDS.apiRssMB) problems.push(`API RSS peaked at ${mb(peakRssMB)}, over ${BOUNDS.apiRssMB} MB`);
    if (peakRssMB - baselineRssMB > BOUNDS.apiRssGrowthMB) problems.push(`API RSS grew by ${mb(peakRssMB - baselineRssMB)}, over ${BOUNDS.apiRssGrowthMB} MB`);
    if (peakRedisMB > BOUNDS.redisMB) problems.push(`Redis used_memory peaked at ${mb(peakRedisMB)}, over ${BOUNDS.redisMB} MB`);
    return problems;
  } finally {
    closeConnections();
    await inspector.close();
    // The services first, while Redis is still there for their shutdown; Redis goes with the group.
    await Promise.all(services.map((s) => s.stop()));
  }
}

/** The end of each service's log, so a failed run can be diagnosed after its directory is gone. */
function logTails(root: string): string {
  return ['api', 'worker']
    .map((role) => path.join(root, 'logs', `${role}.log`))
    .filter((file) => existsSync(file))
    .map((file) => `--- ${path.basename(file)} (last lines)\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n')}`)
    .join('\n');
}

async function main(): Promise<void> {
  const group = createProcessGroup();
  const root = mkdtempSync(path.join(tmpdir(), 'imgflow-load-'));
  const abandon = (code: number, why: string) => {
    process.stderr.write(`imgflow load: ${why}; stopping everything\n`);
    group.killAllNow();
    rmSync(root, { recursive: true, force: true });
    process.exit(code);
  };
  process.once('SIGINT', () => abandon(130, 'interrupted'));
  process.once('SIGTERM', () => abandon(143, 'terminated'));
  const watchdog = setTimeout(() => abandon(1, `not finished after ${DEADLINE_MS / 1000} s`), DEADLINE_MS);

  let problems: string[];
  try {
    problems = await run(group, root);
  } catch (err) {
    problems = [`the run failed: ${err instanceof Error ? err.message : String(err)}`];
  } finally {
    clearTimeout(watchdog);
    await group.stopAll();
  }
  if (problems.length) process.stdout.write(`${logTails(root)}\n`);
  rmSync(root, { recursive: true, force: true });
  process.stdout.write(problems.length ? `FAIL\n  ${problems.join('\n  ')}\n` : 'PASS\n');
  process.exitCode = problems.length ? 1 : 0;
}

void main();
