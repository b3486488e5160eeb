import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CorpusSpec } from './corpus';

export const PHASES = ['limit', 'memory', 'auto-quality', 'presets', 'e2e', 'fill', 'latency', 'drain', 'round-trips', 'ingest', 'enqueue', 'poll-cost', 'streams', 'storage', 'long-run'] as const;
export type Phase = (typeof PHASES)[number];
/** What --base can run: everything else needs a private stack (stopping the worker, seeding Redis). */
const REMOTE_PHASES: readonly Phase[] = ['limit', 'e2e'];
/** What runs in the bench's own processes, without a stack: every other phase starts one. */
export const LOCAL_PHASES: readonly Phase[] = ['limit', 'memory', 'auto-quality', 'presets'];

export interface BenchOptions {
  readonly quick: boolean;
  readonly base?: URL;
  /** Processes of a --base service to measure, by name. */
  readonly pids: Readonly<Record<string, number>>;
  readonly phases: ReadonlySet<Phase>;
  readonly out: string;
  readonly json: string;
  readonly corpus: CorpusSpec;
  readonly reps: number;
  /** API / bare receiver pairs in the ingest phase: a pair's ratio spreads widely here (0.84 to 1.98 in one run), so more of them than `reps`. */
  readonly ingestPairs: number;
  readonly clients: number;
  readonly pollMs: number;
  readonly build: boolean;
  readonly logLevel: string;
  /** Runs the API under --cpu-prof for the end-to-end phase and summarizes the profile. */
  readonly profile: boolean;
  /** Added to every worker's environment, e.g. WORKER_CONCURRENCY=3. */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** Worker concurrencies for the drain phase; the first is the service default. */
  readonly drainConcurrency: readonly number[];
  /** Drains per worker configuration, each between two limit runs. */
  readonly drainReps: number;
  readonly niceLevels: readonly number[];
  readonly idleProbes: number;
  readonly maxProbes: number;
  readonly backlogRepeat: number;
  readonly history: number;
  readonly polls: number;
  readonly enqueueFiles: number;
  readonly longRunImages: number;
  /** The auto-quality phase encodes AVIF for every Nth corpus file only: seconds per image. */
  readonly avifEvery: number;
  /** Event streams held open by the streams phase, and the probe uploads per condition. */
  readonly streams: number;
  readonly streamProbes: number;
}

export const USAGE = `npm run bench -- [options]

  --quick                 tiny corpus, one repetition, no long run: the bench's own smoke test (< 1 min)
  --base URL              run the end-to-end phase against a running service instead of a private stack
  --pid NAME=PID          with --base: a local process of that service to measure (repeatable)
  --phases a,b            only these of: ${PHASES.join(', ')}
  --out FILE              markdown report (default BENCHMARKS.md; with --quick bench/.runs/BENCHMARKS-quick.md)
  --json FILE             all figures as JSON (default bench/.runs/<run>/results.json)
  --reps N                repetitions per limit setting, of the fill phase and of the storage rounds (default 3; quick 1)
  --ingest-pairs N        API / bare receiver pairs in the ingest phase (default 7; quick 1)
  --clients N             concurrent upload clients (default 4)
  --poll-ms N             client poll interval for batch status (default 250)
  --seed N  --jpeg N  --png N  --webp N  --scale X   corpus parameters
  --worker-env K=V        extra environment for every worker (repeatable)
  --drain-concurrency a,b worker concurrencies for the drain phase (default: service default, CPUs, CPUs + 1)
  --history N             completed jobs added for the poll-cost phase (default 100000)
  --long-run-images N     images in the long run (default 1000)
  --streams N             event streams held open by the streams phase (default 1000; quick 200)
  --log-level L           LOG_LEVEL of the services (default info, as a user runs them)
  --profile               run the API with --cpu-prof during the end-to-end phase; top frames in the report
                          (the profiler costs the API CPU: take the phase's CPU figures from a run without it)
  --skip-build            use dist/ as it is (default: npm run build when dist/ is older than src/)`;

const keyValues = (list: readonly string[] | undefined, what: string): Record<string, string> =>
  Object.fromEntries(
    (list ?? []).map((kv) => {
      const at = kv.indexOf('=');
      if (at < 1) throw new Error(`Expected ${what} as NAME=VALUE but received ${kv}`);
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
  );

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`Expected a positive number for --${name} but received ${value}`);
  return n;
}

/** Parses the command line; throws with the offending option's name. */
export function parseBenchOptions(argv: readonly string[], repoRoot: string, runDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      base: { type: 'string' },
      pid: { type: 'string', multiple: true },
      phases: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      reps: { type: 'string' },
      'ingest-pairs': { type: 'string' },
      clients: { type: 'string' },
      'poll-ms': { type: 'string' },
      seed: { type: 'string' },
      jpeg: { type: 'string' },
      png: { type: 'string' },
      webp: { type: 'string' },
      scale: { type: 'string' },
      'worker-env': { type: 'string', multiple: true },
      'drain-concurrency': { type: 'string' },
      history: { type: 'string' },
      'long-run-images': { type: 'string' },
      streams: { type: 'string' },
      'log-level': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const base = values.base ? new URL(values.base) : undefined;

  let phases = new Set<Phase>(values.phases ? (values.phases.split(',') as Phase[]) : PHASES.filter((p) => !(quick && p === 'long-run')));
  for (const p of phases) if (!PHASES.includes(p)) throw new Error(`Expected --phases from ${PHASES.join(', ')} but received ${p}`);
  if (base) phases = new Set([...phases].filter((p) => REMOTE_PHASES.includes(p)));

  const count = (name: 'jpeg' | 'png' | 'webp', full: number, small: number) => (values[name] === undefined ? (quick ? small : full) : Number(values[name]));
  // Mirrors WORKER_CONCURRENCY's default in src/config.ts: two images per core.
  const serviceDefault = 2 * availableParallelism();
  return {
    quick,
    ...(base ? { base } : {}),
    pids: Object.fromEntries(Object.entries(keyValues(values.pid, '--pid')).map(([k, v]) => [k, positive(v, 'pid', 0)])),
    phases,
    out: path.resolve(values.out ?? (quick ? path.join(repoRoot, 'bench/.runs/BENCHMARKS-quick.md') : path.join(repoRoot, 'BENCHMARKS.md'))),
    json: path.resolve(values.json ?? path.join(runDir, 'results.json')),
    corpus: {
      seed: positive(values.seed, 'seed', 20241123),
      jpeg: count('jpeg', 60, 12),
      png: count('png', 30, 6),
      webp: count('webp', 10, 2),
      scale: positive(values.scale, 'scale', quick ? 0.25 : 1),
      maxBytes: 5_000_000,
    },
    reps: positive(values.reps, 'reps', quick ? 1 : 3),
    ingestPairs: positive(values['ingest-pairs'], 'ingest-pairs', quick ? 1 : 7),
    clients: positive(values.clients, 'clients', 4),
    pollMs: positive(values['poll-ms'], 'poll-ms', 250),
    build: !values['skip-build'],
    logLevel: values['log-level'] ?? 'info',
    profile: values.profile,
    workerEnv: keyValues(values['worker-env'], '--worker-env'),
    drainConcurrency: values['drain-concurrency']
      ? values['drain-concurrency'].split(',').map((v) => positive(v, 'drain-concurrency', 1))
      : quick
        ? [serviceDefault]
        : [...new Set([serviceDefault, availableParallelism(), availableParallelism() + 1])],
    drainReps: quick ? 1 : 3,
    niceLevels: quick ? [0] : [0, 10],
    idleProbes: quick ? 30 : 200,
    maxProbes: quick ? 60 : 600,
    backlogRepeat: quick ? 2 : 3,
    history: positive(values.history, 'history', quick ? 2_000 : 100_000),
    polls: quick ? 50 : 300,
    enqueueFiles: quick ? 300 : 5_000,
    longRunImages: positive(values['long-run-images'], 'long-run-images', 1_000),
    avifEvery: quick ? 10 : 5,
    streams: positive(values.streams, 'streams', quick ? 200 : 1_000),
    streamProbes: quick ? 40 : 200,
  };
}
