// One measurement of the Sharp limit, in a fresh process so peak RSS and libvips state belong
// to this run alone. Run by limit.ts: node --import tsx bench/limit-child.ts '<LimitRunConfig JSON>'
import { mkdirSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_OUTPUT, DEFAULT_SPEC, type OutputSpec } from '../src/pipeline';
import { createLocalFileStore } from '../src/storage/local-file-store';
import { processStoredImage } from '../src/worker/process-stored-image';
import { readProc } from './proc-stats';

export interface LimitRunConfig {
  readonly inputs: readonly string[];
  readonly outDir: string;
  /** sharp.concurrency(): libvips threads per image. */
  readonly threads: number;
  /** Images processed at once. */
  readonly inFlight: number;
  readonly cache: boolean;
  /** 'pipeline' is what the worker runs (processStoredImage); 'grayscale' the same steps with .grayscale(). */
  readonly variant: 'pipeline' | 'grayscale';
  readonly keepOutputs: boolean;
}

export interface LimitRunResult {
  readonly images: number;
  readonly errors: number;
  readonly wallS: number;
  readonly cpuS: number;
  /** VmHWM: getrusage's maxRSS would include the parent's, which Linux carries across fork and exec. */
  readonly maxRssMB: number;
  /** RSS once sharp is loaded, before the first image: what the peak is compared with. */
  readonly baselineRssMB: number;
  readonly outputBytes: number;
  /** Mean milliseconds per image by input format (includes waiting for the CPU when several are in flight). */
  readonly msByFormat: Readonly<Record<string, number>>;
}

/** The pipeline's steps with sharp's grayscale() in place of toColourspace('b-w'), for comparison. */
async function processWithGrayscale(input: string, output: string, spec: OutputSpec, maxInputPixels: number): Promise<number> {
  const { data } = await sharp(input, { limitInputPixels: maxInputPixels, failOn: 'warning', autoOrient: true })
    .resize({ width: spec.width, withoutEnlargement: spec.withoutEnlargement })
    .grayscale()
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: spec.quality === 'auto' ? 80 : spec.quality })
    .toBuffer({ resolveWithObject: true });
  await writeFile(`${output}.tmp`, data);
  await rename(`${output}.tmp`, output);
  return data.length;
}

async function run(config: LimitRunConfig): Promise<LimitRunResult> {
  sharp.concurrency(config.threads);
  sharp.cache(config.cache);
  rmSync(config.outDir, { recursive: true, force: true });
  mkdirSync(config.outDir, { recursive: true });
  const outputs = createLocalFileStore(config.outDir);
  const baselineRssMB = readProc('self')?.rssMB ?? Number.NaN;
  let next = 0;
  let errors = 0;
  let outputBytes = 0;
  let times: Record<string, number[]> = {};
  const lane = async () => {
    for (let i = next++; i < config.inputs.length; i = next++) {
      const input = config.inputs[i] as string;
      const started = performance.now();
      const name = path.basename(input).replace(/\.\w+$/, '');
      const output = path.join(config.outDir, `${name}.jpg`);
      try {
        outputBytes +=
          config.variant === 'pipeline'
            ? (await processStoredImage({ uploads: createLocalFileStore(path.dirname(input)), outputs }, { jobId: name, inputFile: path.basename(input), spec: DEFAULT_SPEC })).size
            : await processWithGrayscale(input, output, DEFAULT_OUTPUT, DEFAULT_SPEC.maxInputPixels);
      } catch (err) {
        errors++;
        process.stderr.write(`${input}: ${err instanceof Error ? err.message : String(err)}\n`);
      }
      (times[path.extname(input).slice(1)] ??= []).push(performance.now() - started);
    }
  };
  const lanes = () => Promise.all(Array.from({ length: config.inFlight }, lane));
  // Once untimed: the worker's drain is timed after a pass of its own (drain.ts), and both then
  // compare what a process that has run a while spends, its hot paths compiled.
  await lanes();
  next = 0;
  errors = 0;
  outputBytes = 0;
  times = {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await lanes();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (!config.keepOutputs) rmSync(config.outDir, { recursive: true, force: true });
  return {
    images: config.inputs.length,
    errors,
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    maxRssMB: readProc('self')?.hwmMB ?? Number.NaN,
    baselineRssMB,
    outputBytes,
    msByFormat: Object.fromEntries(Object.entries(times).map(([format, ms]) => [format, ms.reduce((a, b) => a + b, 0) / ms.length])),
  };
}

if (require.main === module) {
  run(JSON.parse(process.argv[2] ?? '{}') as LimitRunConfig).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
