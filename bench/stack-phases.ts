import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Corpus } from './corpus';
import { summarizeCpuProfile } from './cpu-profile-summary';
import { measureDrain, type DrainResult } from './drain';
import { runEndToEnd, warmUp } from './end-to-end';
import { measureEnqueueRate } from './enqueue-rate';
import { measureLongRun } from './long-run';
import type { BenchOptions, Phase } from './options';
import { measureOpenStreams } from './open-streams';
import { measurePipelineFill } from './pipeline-fill';
import { measurePollCost } from './poll-cost';
import type { ProcessGroup } from './process-group';
import type { BenchResults } from './results';
import { compareIngest, measureBareReceiver } from './receiver';
import { countRoundTrips } from './round-trips';
import { JEMALLOC_PATH, startPrivateRedis } from './stack';
import { measureUploadLatency } from './upload-latency';
import { openWorld, type World } from './world';

export interface StackContext {
  readonly options: BenchOptions;
  readonly corpus: Corpus;
  readonly group: ProcessGroup;
  /** Uploads and outputs (removed after the run). */
  readonly dataRoot: string;
  /** Service logs (kept under bench/.runs/). */
  readonly logRoot: string;
  readonly results: BenchResults;
  readonly log: (line: string) => void;
  /** One run of the Sharp limit at its best setting (images/s), for ratios that share the machine's conditions; NaN without a limit phase. */
  readonly adjacentLimit: () => Promise<number>;
  /** Runs one phase; a failure is recorded in the report and the bench goes on. */
  readonly phase: (name: Phase, run: () => Promise<void>) => Promise<void>;
}

/**
 * The phases that need a stack of our own: a private redis-server, and for each group of
 * phases a world (prefix, directories) with its API and worker processes started from dist/.
 */
export async function runStackPhases(ctx: StackContext): Promise<void> {
  const { options, corpus, group, results, log } = ctx;
  const wants = (...phases: Phase[]) => phases.some((p) => options.phases.has(p));
  const redis = await startPrivateRedis(group);
  const redisPort = Number(new URL(redis.url).port);
  results.notes.push(`Private redis-server ${redis.url}: no RDB snapshots, AOF off (persistence is not what is measured here).`);
  const open = (name: string) => openWorld(group, { dataRoot: ctx.dataRoot, logRoot: ctx.logRoot, redisUrl: redis.url, name, logLevel: options.logLevel, workerEnv: { ...options.workerEnv } });
  const inWorld = async (name: string, run: (w: World) => Promise<void>) => {
    const w = open(name);
    try {
      await run(w);
    } finally {
      await w.close();
    }
  };

  try {
    if (wants('e2e', 'fill', 'latency')) {
      await inWorld('e2e', async (w) => {
        // The profile is written when the API exits; only the end-to-end run's part of it is summed.
        const profileDir = path.join(w.world.logDir, 'cpu-profile');
        const profiled = options.profile && wants('e2e');
        const apiStartedAt = Date.now();
        await Promise.all([w.startApi({}, profiled ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), w.startWorker()]);
        await ctx.phase('e2e', async () => {
          await warmUp({ base: w.api().base, corpus, clients: options.clients, filesPerRequest: 10, pollMs: options.pollMs, timeoutS: 600 });
          results.receiver = await measureBareReceiver({ corpus, clients: options.clients, filesPerRequest: 10, group, dir: path.join(ctx.dataRoot, 'bare-receiver') });
          log(`bare receiver: ${results.receiver.cpuMsPerMB.toFixed(2)} ms CPU per MB`);
          const before = await ctx.adjacentLimit();
          const e2eFrom = Date.now() - apiStartedAt;
          const e2e = await runEndToEnd({
            base: w.api().base,
            corpus,
            clients: options.clients,
            filesPerRequest: 10,
            pollMs: options.pollMs,
            timeoutS: 600,
            pids: { api: w.api().process.pid, worker: w.worker()?.pid ?? 0, redis: redis.process.pid },
            inspector: w.inspector,
          });
          const e2eTo = Date.now() - apiStartedAt;
          e2e.adjacentLimitImagesPerS = (before + (await ctx.adjacentLimit())) / 2;
          results.e2e = e2e;
          if (profiled) {
            await w.api().process.stop();
            const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
            if (!file) throw new Error(`the API wrote no CPU profile in ${profileDir}`);
            results.apiProfile = summarizeCpuProfile(path.join(profileDir, file), 25, { fromMs: e2eFrom, toMs: e2eTo });
            await w.startApi();
          }
        });
        await ctx.phase('fill', async () => {
          results.fill = await measurePipelineFill({ base: w.api().base, corpus, clients: options.clients, pollMs: options.pollMs, reps: options.reps, pids: { api: w.api().process.pid, worker: w.worker()?.pid ?? 0, redis: redis.process.pid }, inspector: w.inspector });
        });
        await ctx.phase('latency', async () => {
          results.latency = [];
          for (const nice of options.niceLevels) {
            const launch = nice ? { nice } : {};
            results.latency.push(
              await measureUploadLatency({
                base: w.api().base,
                corpus,
                inspector: w.inspector,
                variant: nice ? `worker under nice ${nice}` : 'worker at normal priority',
                idleProbes: options.idleProbes,
                maxProbes: options.maxProbes,
                backlogRepeat: options.backlogRepeat,
                gapMs: 20,
                clients: options.clients,
                startWorker: () => w.startWorker(launch),
                stopWorker: () => w.stopWorker(),
                pids: () => group.livePids(),
              }),
            );
          }
        });
      });
    }

    if (wants('round-trips', 'drain', 'ingest', 'enqueue')) {
      await inWorld('drain', async (w) => {
        await w.startApi();
        const pids = { api: w.api().process.pid, redis: redis.process.pid };
        await ctx.phase('round-trips', async () => {
          const worker = await w.startWorker();
          results.roundTrips = await countRoundTrips({ base: w.api().base, corpus, inspector: w.inspector, redisPort, pids: { api: pids.api, worker: worker.pid } });
          await w.stopWorker();
        });
        await ctx.phase('drain', async () => {
          results.drain = [];
          const serviceDefault = Number(options.workerEnv.WORKER_CONCURRENCY ?? options.drainConcurrency[0]);
          const variants = [
            ...options.drainConcurrency.map((concurrency, i) =>
              i === 0
                ? { label: `service default (concurrency ${serviceDefault})`, concurrency: serviceDefault, launch: {} }
                : { label: `WORKER_CONCURRENCY=${concurrency}`, concurrency, launch: { env: { WORKER_CONCURRENCY: String(concurrency) } } },
            ),
            // What the lower priority costs when nothing competes with the worker.
            ...options.niceLevels.filter((n) => n > 0).map((nice) => ({ label: `service default under nice ${nice}`, concurrency: serviceDefault, launch: { nice } })),
          ];
          for (const variant of variants) {
            const series = { label: variant.label, workerConcurrency: variant.concurrency, runs: [] as DrainResult[] };
            results.drain.push(series);
            for (let rep = 0; rep < options.drainReps; rep++) {
              const limitBefore = await ctx.adjacentLimit();
              const run = await measureDrain({
                base: w.api().base,
                corpus,
                inspector: w.inspector,
                clients: options.clients,
                label: series.label,
                workerConcurrency: series.workerConcurrency,
                startWorker: () => w.startWorker(variant.launch),
                pids,
              });
              await w.stopWorker();
              const adjacentLimitImagesPerS = (limitBefore + (await ctx.adjacentLimit())) / 2;
              series.runs.push({ ...run, adjacentLimitImagesPerS });
              log(`drain ${series.label} rep ${rep + 1}/${options.drainReps}: ${run.imagesPerS.toFixed(2)} img/s, adjacent limit ${adjacentLimitImagesPerS.toFixed(2)}`);
            }
          }
        });
        await ctx.phase('ingest', async () => {
          await w.stopWorker();
          results.ingest = await compareIngest({ corpus, clients: options.clients, filesPerRequest: 10, group, dir: path.join(ctx.dataRoot, 'bare-receiver'), api: { base: w.api().base, pid: pids.api, uploadDir: w.world.uploadDir }, reps: options.ingestPairs });
          log(`ingest: API ${results.ingest.apiMsPerMB.toFixed(2)} vs bare receiver ${results.ingest.receiverMsPerMB.toFixed(2)} ms CPU per MB`);
        });
        await ctx.phase('enqueue', async () => {
          await w.stopWorker();
          results.enqueue = await measureEnqueueRate({ base: w.api().base, corpus, files: options.enqueueFiles, clients: 8, pids });
        });
      });
    }

    if (wants('poll-cost')) {
      await inWorld('poll', async (w) => {
        await Promise.all([w.startApi(), w.startWorker()]);
        await ctx.phase('poll-cost', async () => {
          results.pollCost = await measurePollCost({ base: w.api().base, corpus, inspector: w.inspector, world: w.world, history: options.history, polls: options.polls });
        });
      });
    }

    if (wants('streams')) {
      await inWorld('streams', async (w) => {
        const loopDelayFile = path.join(w.world.logDir, 'loop-delay.json');
        const api = await w.startApi({ NODE_OPTIONS: `--require ${path.join(__dirname, 'loop-delay-probe.cjs')}`, IMGFLOW_LOOP_DELAY_FILE: loopDelayFile });
        await ctx.phase('streams', async () => {
          results.streams = await measureOpenStreams({ base: api.base, corpus, apiPid: api.process.pid, loopDelayFile, streams: options.streams, probes: options.streamProbes, batches: 20 });
        });
      });
    }

    if (wants('long-run')) {
      await ctx.phase('long-run', async () => {
        const variants: { label: string; env: Record<string, string> }[] = [{ label: 'glibc malloc', env: {} }];
        if (JEMALLOC_PATH) variants.push({ label: 'jemalloc (LD_PRELOAD)', env: { LD_PRELOAD: JEMALLOC_PATH } });
        else results.notes.push('jemalloc not installed (apt-get install -y libjemalloc2): its long-run row is missing.');
        variants.push({ label: 'glibc, MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' } });
        results.longRun = [];
        for (const [i, variant] of variants.entries()) {
          await inWorld(`long-${i}`, async (w) => {
            log(`long run: ${variant.label}`);
            results.longRun?.push(await measureLongRun({ corpus, world: w.world, inspector: w.inspector, images: options.longRunImages, label: variant.label, startWorker: () => w.startWorker({ env: variant.env }) }));
          });
        }
      });
    }
  } finally {
    await redis.stop();
  }
  log(`service logs: ${ctx.logRoot}`);
}
