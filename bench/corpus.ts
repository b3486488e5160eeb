import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { createRandom, type Random } from './random';
import { synthesizePhoto, synthesizeScreenshot, type Raster } from './synthesize';

export interface CorpusSpec {
  readonly seed: number;
  readonly jpeg: number;
  readonly png: number;
  readonly webp: number;
  /** 1 = full size (4000x3000 JPEG, 1920x1080 PNG, 2048x1536 WebP); smaller for a quick corpus. */
  readonly scale: number;
  /** Every file stays under this, so the API's default 5 MB limit accepts all of them. */
  readonly maxBytes: number;
}

export type CorpusFormat = 'jpeg' | 'png' | 'webp';

export interface CorpusFile {
  readonly name: string;
  readonly path: string;
  readonly format: CorpusFormat;
  readonly mime: string;
  /** As stored; orientation 6 files display rotated. */
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly orientation: number;
  readonly quality: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface Corpus {
  readonly dir: string;
  readonly spec: CorpusSpec;
  readonly files: readonly CorpusFile[];
  /** A small photo for single-file upload latency probes. */
  readonly probe: CorpusFile;
  /** A tiny image for enqueue throughput. */
  readonly tiny: CorpusFile;
  /** sha256 over every file's sha256: two runs made the same corpus if this matches. */
  readonly digest: string;
  readonly totalBytes: number;
  readonly megapixels: number;
  /** Seconds spent generating now; 0 when the cache was used. */
  readonly generatedSeconds: number;
}

// Bump when the synthesis changes, so cached corpora of the old generator are not reused.
const GENERATOR_VERSION = 1;

const MIME: Record<CorpusFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
const EXTENSION: Record<CorpusFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp' };

interface Planned {
  readonly name: string;
  readonly format: CorpusFormat;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly kind: 'photo' | 'screenshot' | 'screenshot-rgba';
  readonly orientation: number;
}

function plan(spec: CorpusSpec): { files: Planned[]; probe: Planned; tiny: Planned } {
  const root = createRandom(spec.seed);
  const seed = () => Math.floor(root() * 2 ** 31);
  const size = (w: number, h: number) => [Math.max(16, Math.round(w * spec.scale)), Math.max(16, Math.round(h * spec.scale))] as const;
  const files: Planned[] = [];
  const [jw, jh] = size(4000, 3000);
  for (let i = 0; i < spec.jpeg; i++) {
    // Every fifth photo is stored sideways with EXIF orientation 6, as phones do.
    files.push({ name: `photo-${String(i).padStart(3, '0')}.jpg`, format: 'jpeg', seed: seed(), width: jw, height: jh, kind: 'photo', orientation: i % 5 === 4 ? 6 : 1 });
  }
  const [pw, ph] = size(1920, 1080);
  for (let i = 0; i < spec.png; i++) {
    files.push({ name: `screen-${String(i).padStart(3, '0')}.png`, format: 'png', seed: seed(), width: pw, height: ph, kind: i % 3 === 2 ? 'screenshot-rgba' : 'screenshot', orientation: 1 });
  }
  const [ww, wh] = size(2048, 1536);
  for (let i = 0; i < spec.webp; i++) {
    files.push({ name: `web-${String(i).padStart(3, '0')}.webp`, format: 'webp', seed: seed(), width: ww, height: wh, kind: 'photo', orientation: 1 });
  }
  return {
    files,
    probe: { name: 'probe-640.jpg', format: 'jpeg', seed: seed(), width: 640, height: 480, kind: 'photo', orientation: 1 },
    tiny: { name: 'tiny-64.jpg', format: 'jpeg', seed: seed(), width: 64, height: 48, kind: 'photo', orientation: 1 },
  };
}

async function render(item: Planned, random: Random): Promise<Raster> {
  if (item.kind === 'photo') return synthesizePhoto(random, item.width, item.height, 10 + random() * 10);
  return synthesizeScreenshot(random, item.width, item.height, item.kind === 'screenshot-rgba');
}

/** Encodes at the best quality that fits under maxBytes, stepping down deterministically. */
async function encode(item: Planned, raster: Raster, maxBytes: number): Promise<{ data: Buffer; quality: number }> {
  const input = () => sharp(raster.data, { raw: { width: raster.width, height: raster.height, channels: raster.channels } });
  const steps: Record<CorpusFormat, readonly number[]> = { jpeg: [88, 85, 82, 78, 72, 65], png: [6, 9], webp: [82, 74, 66, 58] };
  let last = 0;
  for (const quality of steps[item.format]) {
    const pipeline = input();
    if (item.format === 'jpeg') pipeline.jpeg({ quality }).withMetadata({ orientation: item.orientation });
    else if (item.format === 'png') pipeline.png({ compressionLevel: quality });
    else pipeline.webp({ quality, effort: 2 });
    const data = await pipeline.toBuffer();
    if (data.length < maxBytes) return { data, quality };
    last = data.length;
  }
  throw new Error(`Expected ${item.name} to fit under ${maxBytes} bytes but the smallest encoding was ${last}`);
}

function cacheKey(spec: CorpusSpec): string {
  const identity = JSON.stringify({ GENERATOR_VERSION, spec, sharp: sharp.versions.sharp, vips: sharp.versions.vips });
  return createHash('sha256').update(identity).digest('hex').slice(0, 12);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function summarize(dir: string, spec: CorpusSpec, files: CorpusFile[], probe: CorpusFile, tiny: CorpusFile, generatedSeconds: number): Corpus {
  return {
    dir,
    spec,
    files,
    probe,
    tiny,
    digest: createHash('sha256').update(files.map((f) => f.sha256).join('')).digest('hex'),
    totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    megapixels: files.reduce((sum, f) => sum + f.width * f.height, 0) / 1e6,
    generatedSeconds,
  };
}

type Manifest = { files: CorpusFile[]; probe: CorpusFile; tiny: CorpusFile };

function readCached(dir: string): Manifest | undefined {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const intact = [...manifest.files, manifest.probe, manifest.tiny].every((f) => existsSync(f.path) && statSync(f.path).size === f.bytes);
  return intact ? manifest : undefined;
}

/**
 * Returns the corpus for `spec`, generating it into `<cacheRoot>/<key>/` the first time. The key
 * covers the spec, the generator version and the sharp/libvips versions, so a cached corpus is
 * only reused when it would come out byte-identical. manifest.json is written last: a run
 * interrupted half-way is regenerated rather than reused.
 */
export async function ensureCorpus(spec: CorpusSpec, cacheRoot: string, onFile: (line: string) => void = () => undefined): Promise<Corpus> {
  const dir = path.join(cacheRoot, cacheKey(spec));
  const cached = readCached(dir);
  if (cached) return summarize(dir, spec, cached.files, cached.probe, cached.tiny, 0);

  const started = performance.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const planned = plan(spec);
  const make = async (item: Planned): Promise<CorpusFile> => {
    const random = createRandom(item.seed);
    const raster = await render(item, random);
    const { data, quality } = await encode(item, raster, spec.maxBytes);
    const filePath = path.join(dir, item.name);
    writeFileSync(filePath, data);
    onFile(`${item.name} ${item.width}x${item.height} q${quality} ${(data.length / 1e6).toFixed(2)} MB`);
    return {
      name: item.name,
      path: filePath,
      format: item.format,
      mime: MIME[item.format],
      width: item.width,
      height: item.height,
      channels: raster.channels,
      orientation: item.orientation,
      quality,
      bytes: data.length,
      sha256: sha256(data),
    };
  };
  const files: CorpusFile[] = [];
  for (const item of planned.files) files.push(await make(item));
  const probe = await make(planned.probe);
  const tiny = await make(planned.tiny);
  const manifest: Manifest = { files, probe, tiny };
  writeFileSync(path.join(dir, 'manifest.tmp'), JSON.stringify({ spec, sharp: sharp.versions, ...manifest }, null, 2));
  renameSync(path.join(dir, 'manifest.tmp'), path.join(dir, 'manifest.json'));
  return summarize(dir, spec, files, probe, tiny, (performance.now() - started) / 1000);
}

export const FORMAT_EXTENSION = EXTENSION;
