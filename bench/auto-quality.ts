import sharp from 'sharp';
import { AUTO_QUALITY_TARGET, encodeWithAutoQuality, type AutoQualityFormat } from '../src/pipeline/auto-quality';
import { perceptualScore, type RawImage } from '../src/pipeline/perceptual-score';
import { fixtures } from '../test/fixtures/images';
import type { Corpus } from './corpus';
import { percentile } from './stats';

/** The outputs where auto quality matters: the `web` and `avif` presets' settings, and JPEG at the same size. */
export const AUTO_QUALITY_SETTINGS: readonly { readonly label: string; readonly format: AutoQualityFormat }[] = [
  { label: 'JPEG, 1280 inside', format: 'jpeg' },
  { label: 'web: WebP, 1280 inside', format: 'webp' },
  { label: 'avif: AVIF, 1280 inside', format: 'avif' },
];
const FIXED_QUALITY = 80;
const MAX_SIDE = 1280;

export interface Distribution {
  readonly min: number;
  readonly p50: number;
  readonly max: number;
}

export interface AutoQualityRow {
  readonly label: string;
  readonly format: AutoQualityFormat;
  /** 'photo' for the corpus's JPEG and WebP photos, 'screenshot' for its PNGs, 'real photo' for the test fixtures'. */
  readonly kind: Kind;
  readonly images: number;
  readonly autoBytes: number;
  readonly fixedBytes: number;
  /** CPU ms of the whole job (decode, resize, encode) per image, summed over the images, one image at a time. */
  readonly autoCpuMs: number;
  readonly fixedCpuMs: number;
  /** The score the search reported (on the sample mosaic when the output is large). */
  readonly score: Distribution;
  /** The score of the served output at full size (perceptualScore's quarter sample), measured apart from the CPU. */
  readonly servedScore: Distribution;
  /** Images whose served output scores below the target at full size. */
  readonly servedBelowTarget: number;
  readonly quality: Distribution;
  /** What fixed q80 scores on the same metric, for comparison with the target. */
  readonly fixedScore: Distribution;
}

export interface AutoQualityResult {
  readonly target: number;
  readonly fixedQuality: number;
  /** AVIF runs on every `avifEvery`-th file: its encoder costs seconds per image. */
  readonly avifEvery: number;
  readonly rows: AutoQualityRow[];
}

type Kind = 'photo' | 'screenshot' | 'real photo';

/**
 * The real-world photos of test/fixtures (camera JPEGs, CMYK, WebP, AVIF), next to the corpus:
 * its synthetic photos carry per-pixel grain, which encoders smooth away and SSIM counts in full.
 */
export const REAL_PHOTOS = [fixtures.jpegExif1, fixtures.portraitJpegExif6, fixtures.largePhotoJpeg, fixtures.cmykJpeg, fixtures.webp, fixtures.avif, fixtures.photoJpeg, fixtures.smallPhotoJpeg];

const distribution = (values: readonly number[]): Distribution => ({ min: Math.min(...values), p50: percentile(values, 50), max: Math.max(...values) });
const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};

/** The job up to its encoder, as the presets will run it: upright, 1280 inside, colour; JPEG flattened. */
function transformed(file: { readonly path: string }, format: AutoQualityFormat): sharp.Sharp {
  const image = sharp(file.path, { autoOrient: true, failOn: 'warning' }).resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true });
  return format === 'jpeg' ? image.flatten({ background: '#ffffff' }) : image;
}

async function toRaw(image: sharp.Sharp): Promise<RawImage> {
  const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/**
 * Auto quality against fixed q80 of the same format, file by file, one image at a time with one
 * libvips thread, so process.cpuUsage() around each job is that job's CPU alone. Both jobs start
 * from the file: decode, resize and encode(s), as a worker would run them.
 */
export async function measureAutoQuality(corpus: Corpus, { avifEvery, realPhotos }: { avifEvery: number; realPhotos: number }, log: (line: string) => void): Promise<AutoQualityResult> {
  const threads = sharp.concurrency();
  sharp.concurrency(1);
  const rows: AutoQualityRow[] = [];
  try {
    for (const setting of AUTO_QUALITY_SETTINGS) {
      const files = setting.format === 'avif' ? corpus.files.filter((_, i) => i % avifEvery === 0) : corpus.files;
      const inputs: Record<Kind, readonly { readonly path: string }[]> = {
        photo: files.filter((f) => f.format !== 'png'),
        screenshot: files.filter((f) => f.format === 'png'),
        'real photo': REAL_PHOTOS.slice(0, realPhotos).map((path) => ({ path })),
      };
      for (const kind of ['photo', 'screenshot', 'real photo'] as const) {
        const mine = inputs[kind];
        if (!mine.length) continue;
        let autoBytes = 0;
        let fixedBytes = 0;
        let autoCpu = 0;
        let fixedCpu = 0;
        const scores: number[] = [];
        const qualities: number[] = [];
        const fixedScores: number[] = [];
        const servedScores: number[] = [];
        for (const file of mine) {
          let since = process.cpuUsage();
          const fixed = await transformed(file, setting.format)[setting.format]({ quality: FIXED_QUALITY }).toBuffer();
          fixedCpu += cpuMs(since);
          since = process.cpuUsage();
          const auto = await encodeWithAutoQuality(transformed(file, setting.format), setting.format, { target: AUTO_QUALITY_TARGET });
          autoCpu += cpuMs(since);
          autoBytes += auto.data.length;
          fixedBytes += fixed.length;
          scores.push(auto.score);
          qualities.push(auto.quality);
          const reference = await toRaw(transformed(file, setting.format));
          fixedScores.push(perceptualScore(reference, await toRaw(sharp(fixed))));
          servedScores.push(perceptualScore(reference, await toRaw(sharp(auto.data))));
        }
        const row: AutoQualityRow = {
          label: setting.label,
          format: setting.format,
          kind,
          images: mine.length,
          autoBytes,
          fixedBytes,
          autoCpuMs: autoCpu / mine.length,
          fixedCpuMs: fixedCpu / mine.length,
          score: distribution(scores),
          servedScore: distribution(servedScores),
          servedBelowTarget: servedScores.filter((x) => x < AUTO_QUALITY_TARGET).length,
          quality: distribution(qualities),
          fixedScore: distribution(fixedScores),
        };
        rows.push(row);
        log(`auto quality ${setting.label}, ${mine.length} ${kind}s: ${((1 - autoBytes / fixedBytes) * 100).toFixed(0)}% fewer bytes than q${FIXED_QUALITY}, ${(row.autoCpuMs / row.fixedCpuMs).toFixed(2)}x its CPU, served score p50 ${row.servedScore.p50.toFixed(4)}, ${row.servedBelowTarget} below target`);
      }
    }
  } finally {
    sharp.concurrency(threads);
  }
  return { target: AUTO_QUALITY_TARGET, fixedQuality: FIXED_QUALITY, avifEvery, rows };
}
