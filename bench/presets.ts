import sharp from 'sharp';
import { loadConfig } from '../src/config';
import { BUILT_IN_PRESETS, resolveOutputs, type OutputPolicy, type OutputRequest } from '../src/core/presets';
import { OUTPUT_FORMATS, transformImage, type OutputFormat, type PipelineSpec } from '../src/pipeline';
import { scaleNeeded } from '../src/pipeline/output-size';
import { alternate, meanCost, measure, type Alternation, type Contender, type Cost } from './alternate';
import { REAL_PHOTOS } from './auto-quality';
import type { Corpus } from './corpus';

/** The variants of the shared-decode goal, in the order a client would list them. */
export const SHARED_VARIANTS = ['thumbnail', 'web', 'default'] as const;

/** Sharp alone: the settings of one output written out by hand as the shortest chain that makes it. */
type Chain = (image: sharp.Sharp) => sharp.Sharp;
const white = { background: '#ffffff' };
const inside1280 = { width: 1280, height: 1280, fit: 'inside', withoutEnlargement: true } as const;
const wide512 = { width: 512, withoutEnlargement: true };

/** The chain the worker ran before presets existed (src/pipeline/index.ts then), copied as it was. */
const OLD_DEFAULT: Chain = (i) => i.resize(wide512).toColourspace('b-w').flatten(white).jpeg({ quality: 80 });

const PRESET_CHAINS: Readonly<Record<string, Chain>> = {
  default: OLD_DEFAULT,
  thumbnail: (i) => i.resize({ width: 256, height: 256, fit: 'cover', position: 'attention', withoutEnlargement: true }).webp({ quality: 80 }),
  web: (i) => i.resize(inside1280).webp({ quality: 75 }),
  avif: (i) => i.resize(inside1280).avif({ quality: 50 }),
  original: (i) => i.flatten(white).jpeg({ quality: 85 }),
};

/** Each format at the default preset's size, in colour: what `options={"format":F,"grayscale":false}` asks for. */
const FORMAT_CHAINS: Readonly<Record<OutputFormat, Chain>> = {
  jpeg: (i) => i.resize(wide512).flatten(white).jpeg({ quality: 80 }),
  png: (i) => i.resize(wide512).png(),
  webp: (i) => i.resize(wide512).webp({ quality: 80 }),
  avif: (i) => i.resize(wide512).avif({ quality: 80 }),
  gif: (i) => i.resize(wide512).gif(),
};

export interface PresetRow {
  readonly label: string;
  readonly kind: 'preset' | 'format';
  readonly images: number;
  /** transformImage with the spec the API queues for this request: what processStoredImage runs between its read and its write. */
  readonly worker: Cost;
  readonly alone: Cost;
  /** Images whose two outputs were the same bytes: the check that both sides ran the same settings. */
  readonly identical: number;
  /** Worker / alone CPU of each pass over the images (the default row makes several). */
  readonly passRatios: readonly number[];
  readonly otherCores: number;
}

export interface VariantsRow {
  readonly kind: 'photo' | 'real photo';
  readonly images: number;
  readonly defaultAlone: Cost;
  /** One job, `variants=thumbnail,web,default`. */
  readonly oneJob: Cost;
  /** The naive way: a job per preset, each decoding the input. */
  readonly threeJobs: Cost;
  /** The shared step alone: header read and one decode, shrunk to the largest variant's scale, into raw pixels. */
  readonly decode: Cost;
  /** Resize + encode of each variant from those pixels, by name. */
  readonly encodes: Readonly<Record<string, Cost>>;
  readonly otherCores: number;
}

export interface PresetsResult {
  readonly avifEvery: number;
  readonly rows: PresetRow[];
  readonly variants: VariantsRow[];
}

function policyOfServiceDefaults(): OutputPolicy {
  const config = loadConfig({});
  return { ...config.transform, presets: BUILT_IN_PRESETS, maxInputPixels: config.uploads.maxInputPixels };
}

const through = (spec: PipelineSpec): Contender => async (input) => {
  const [first] = await transformImage(input, spec);
  if (!first) throw new Error('transformImage returned no output');
  return first.data;
};

/**
 * The shared-decode job taken apart: the decode transformVariants makes, then every variant
 * resized and encoded from its pixels, each step timed into `steps`.
 */
function decodeThenEncode(spec: PipelineSpec, steps: { decode: Cost[]; encodes: Record<string, Cost[]> }): Contender {
  return async (input) => {
    const decoded = await measure(async () => {
      const upright = (await sharp(input, { failOn: 'warning' }).metadata()).autoOrient;
      const scale = Math.min(1, Math.max(...spec.variants.map((v) => scaleNeeded(upright, v))));
      const image = sharp(input, { limitInputPixels: spec.maxInputPixels, failOn: 'warning', autoOrient: true });
      if (scale < 1) image.resize({ width: Math.ceil(upright.width * scale), height: Math.ceil(upright.height * scale), fit: 'fill' });
      return image.raw().toBuffer({ resolveWithObject: true });
    });
    steps.decode.push(decoded);
    const { data, info } = decoded.result;
    let last = data;
    for (const v of spec.variants) {
      const chain = PRESET_CHAINS[v.name];
      if (!chain) throw new Error(`no hand-written chain for preset ${v.name}`);
      const encoded = await measure(() => chain(sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })).toBuffer());
      (steps.encodes[v.name] ??= []).push(encoded);
      last = encoded.result;
    }
    return last;
  };
}

async function measureVariants(kind: VariantsRow['kind'], files: readonly string[], policy: OutputPolicy): Promise<VariantsRow> {
  const spec = (request: OutputRequest) => resolveOutputs(policy, request);
  const steps: { decode: Cost[]; encodes: Record<string, Cost[]> } = { decode: [], encodes: {} };
  const { costs, otherCores } = await alternate(files, [
    through(spec({ preset: 'default' })),
    through(spec({ variants: [...SHARED_VARIANTS] })),
    async (input) => {
      let last: Buffer = Buffer.alloc(0);
      for (const name of SHARED_VARIANTS) last = await through(spec({ preset: name }))(input);
      return last;
    },
    decodeThenEncode(spec({ variants: [...SHARED_VARIANTS] }), steps),
  ]);
  const [defaultAlone, oneJob, threeJobs] = costs as [Cost, Cost, Cost];
  // The first sample of each step is alternate()'s untimed warm-up.
  const timed = (samples: readonly Cost[]) => meanCost(samples.slice(1));
  const encodes = Object.fromEntries(Object.entries(steps.encodes).map(([name, samples]) => [name, timed(samples)]));
  return { kind, images: files.length, defaultAlone, oneJob, threeJobs, decode: timed(steps.decode), encodes, otherCores };
}

async function measureRow(label: string, kind: PresetRow['kind'], files: readonly string[], spec: PipelineSpec, chain: Chain, passes: number): Promise<PresetRow> {
  const alone: Contender = (input) => chain(sharp(input, { limitInputPixels: spec.maxInputPixels, failOn: 'warning', autoOrient: true })).toBuffer();
  const runs: Alternation[] = [];
  for (let pass = 0; pass < passes; pass++) runs.push(await alternate(files, [through(spec), alone]));
  const side = (i: number) => meanCost(runs.map((r) => r.costs[i] as Cost));
  return {
    label,
    kind,
    images: files.length,
    worker: side(0),
    alone: side(1),
    identical: Math.min(...runs.map((r) => r.identical)),
    passRatios: runs.map((r) => (r.costs[0]?.cpuMs ?? Number.NaN) / (r.costs[1]?.cpuMs ?? Number.NaN)),
    otherCores: Math.max(...runs.map((r) => r.otherCores)),
  };
}

/**
 * Issue 7's performance rows: every built-in preset and every output format through the
 * worker's transform against Sharp alone with the same settings, and the shared decode of
 * `variants=thumbnail,web,default`. One image at a time on one libvips thread with Sharp's cache
 * off, as the worker runs, so process.cpuUsage() around an image is that image's CPU.
 */
export async function measurePresets(
  corpus: Corpus,
  { maxImages, avifEvery, realPhotos, defaultPasses }: { maxImages: number; avifEvery: number; realPhotos: number; defaultPasses: number },
  log: (line: string) => void,
): Promise<PresetsResult> {
  const policy = policyOfServiceDefaults();
  const all = corpus.files.slice(0, maxImages);
  const files = (format: OutputFormat) => (format === 'avif' ? all.filter((_, i) => i % avifEvery === 0) : all).map((f) => f.path);
  const threads = sharp.concurrency();
  sharp.concurrency(1);
  sharp.cache(false);
  try {
    const rows: PresetRow[] = [];
    const run = async (label: string, kind: PresetRow['kind'], request: OutputRequest, chain: Chain | undefined, passes = 1) => {
      if (!chain) throw new Error(`no hand-written chain for ${label}`);
      const spec = resolveOutputs(policy, request);
      const row = await measureRow(label, kind, files(spec.variants[0].format), spec, chain, passes);
      rows.push(row);
      log(`presets ${label}: ${row.worker.cpuMs.toFixed(1)} vs ${row.alone.cpuMs.toFixed(1)} CPU ms/image (${(row.worker.cpuMs / row.alone.cpuMs).toFixed(3)}x), ${row.identical}/${row.images} identical, other load ${row.otherCores.toFixed(2)}`);
    };
    await run('default (against the old chain)', 'preset', { preset: 'default' }, OLD_DEFAULT, defaultPasses);
    for (const name of Object.keys(BUILT_IN_PRESETS).filter((n) => n !== 'default')) await run(name, 'preset', { preset: name }, PRESET_CHAINS[name]);
    for (const format of OUTPUT_FORMATS) await run(`${format}, 512 wide, colour`, 'format', { options: { format, grayscale: false } }, FORMAT_CHAINS[format]);

    const variants: VariantsRow[] = [];
    const inputs: Record<VariantsRow['kind'], readonly string[]> = {
      photo: all.filter((f) => f.format !== 'png').map((f) => f.path),
      'real photo': REAL_PHOTOS.slice(0, realPhotos),
    };
    for (const kind of ['photo', 'real photo'] as const) {
      const row = await measureVariants(kind, inputs[kind], policy);
      variants.push(row);
      log(`presets variants=${SHARED_VARIANTS.join(',')}, ${row.images} ${kind}s: ${(row.oneJob.cpuMs / row.defaultAlone.cpuMs).toFixed(2)}x default alone (three jobs ${(row.threeJobs.cpuMs / row.defaultAlone.cpuMs).toFixed(2)}x), other load ${row.otherCores.toFixed(2)}`);
    }
    return { avifEvery, rows, variants };
  } finally {
    sharp.concurrency(threads);
    sharp.cache(true);
  }
}
