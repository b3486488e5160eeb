import sharp from 'sharp';
import { hasAlpha, perceptualScore, type RawImage, type Region } from './perceptual-score';
import { searchSample } from './search-sample';
import type { AutoQualityFormat } from './spec';

/**
 * `quality: "auto"`: the lowest quality whose decoded output stays within a perceptual target of
 * the resized, un-encoded image (issue 7).
 *
 * **Metric.** SSIM (Wang et al. 2004) on luma (BT.601) at output size, mean-pooled over 11×11
 * windows: the same figure as @blazediff/ssim's `hitchhikersSSIM` with `covPooling: false`,
 * computed in perceptual-score.ts (a test holds them equal). The library's plain `ssim()` first
 * downsamples by min(w, h) / 256, as MATLAB's ssim.m does, so at 1280 px it would judge a
 * 320 px thumbnail and miss exactly the artefacts a browser shows at 1:1; MS-SSIM also starts at
 * full size but cost 10× more here (~750 ms at 1.3 MP). CoV pooling is off because it scores a
 * uniformly degraded image as perfect (1 − std/mean of the SSIM map). Above 512×512 px the
 * metric reads a quarter of the image, at full resolution: 88 px tiles of whole windows spread
 * diagonally, so the score samples the same windows' mean at a quarter of the JavaScript cost.
 *
 * **Alpha.** Colour is compared on the image flattened on white, so pixels nobody sees do not
 * count; the alpha plane is compared on its own, and the score is the lower of the two. JPEG has
 * no alpha: a reference with alpha is flattened on white before encoding (the caller flattens on
 * its `background` first when it has one). Grey (1-channel) references are compared as they are.
 *
 * **Tiny images.** The window shrinks to the shorter side (down to 1 px, where SSIM is the
 * luminance term alone), so a 4×4 image still gets a score.
 *
 * **Search.** At most {@link AUTO_QUALITY_MAX_ENCODES} search encodes, all from one raw render of
 * the reference (the source is decoded and resized once). It starts at a typical answer per format
 * ({@link AUTO_QUALITY_BOUNDS}), then narrows the bracket between the highest failing and the
 * lowest passing quality by the secant through the two nearest scores (a prior slope while only
 * one point is known; the last try leans a step high), and stops once no integer quality is
 * left between them. It assumes the score grows with quality, which holds apart from small dips
 * on re-encoded JPEGs. Result: the lowest passing candidate, or the highest tried when none
 * passes (usually the bracket's top).
 * The floor of each bracket guards against SSIM's blind spots (banding, blocking on flat areas).
 *
 * **Sample.** Above 16 tiles of 64 px (search-sample.ts) the candidates are not the output but a
 * mosaic of a sixteenth of its 64 px tiles, at full resolution and cut on the codecs' block grid,
 * and the quality found is then encoded once at full size: **at most 4 + 1 encodes**, the extra one
 * costing what the fixed-quality job's encode costs. This is what brings the search's extra CPU
 * down to a fraction of one job (BENCHMARKS.md): it encodes, decodes and scores about 1/16 of
 * the pixels four times. Tiles rather than a downscaled copy because codecs work on blocks at
 * the output's scale: a JPEG tile is coded exactly as in the full output, so the reported `score`
 * is the served output's score on the sampled windows (to 1e-6, tested); WebP's prediction and
 * AVIF's filters see other neighbours in the mosaic (within 0.006), and AVIF candidates use
 * effort {@link AVIF_SEARCH_EFFORT} (~15× cheaper than sharp's default 4, which then does a
 * little better at the same quality). Against every window of the full-size output the sample's
 * score is off by 0.003 rms on the fixtures' photos, up to ~0.01 on the least uniform ones, in
 * both directions, so a served image can land that far below the target. Smaller outputs are
 * searched whole, and the result is the scored encode itself.
 *
 * Candidates are encoded from raw pixels, so metadata set on `image` (`keepMetadata`,
 * `withIccProfile`) is not carried into the output.
 */

export type { AutoQualityFormat };

/**
 * Default target (SSIM on luma as above), chosen on the camera photos of test/fixtures/real at
 * 1280 px: fixed q80 scores 0.96–0.996 there (median 0.98), so 0.96 is what q80 gives the
 * hardest of them; the median photo then saves about a third of q80's bytes in JPEG and WebP
 * and over half in AVIF, and screenshots reach the bottom of the range. Synthetic grain (the
 * bench corpus) scores below 0.96 even at q80 and gets more bytes, not fewer. BENCHMARKS.md,
 * "Auto quality against fixed q80".
 */
export const AUTO_QUALITY_TARGET = 0.96;

export const AUTO_QUALITY_MAX_ENCODES = 4;

export interface QualityBounds {
  readonly min: number;
  readonly max: number;
  /** The first quality tried: where photos usually land, so most searches start close. */
  readonly start: number;
}

/** libheif's AVIF quality scale sits lower than JPEG's and WebP's for the same look. */
export const AUTO_QUALITY_BOUNDS: Readonly<Record<AutoQualityFormat, QualityBounds>> = {
  jpeg: { min: 30, max: 95, start: 70 },
  webp: { min: 30, max: 95, start: 70 },
  avif: { min: 20, max: 90, start: 50 },
};

export interface AutoQualityResult {
  readonly data: Buffer;
  readonly info: sharp.OutputInfo;
  readonly quality: number;
  readonly score: number;
}


interface Tried {
  readonly quality: number;
  readonly score: number;
}

/**
 * Score gained per quality step when only one point is known (or two give no slope): 0.0008–0.0015
 * on the fixtures' photos near the target, for JPEG, WebP and AVIF alike.
 */
const PRIOR_SLOPE = 0.001;

/** The next quality to try with `remaining` encodes left, or undefined when the bracket is closed (pure: the search's only logic). */
export function nextQuality(tried: readonly Tried[], target: number, bounds: QualityBounds, remaining = Number.POSITIVE_INFINITY): number | undefined {
  if (tried.length === 0) return bounds.start;
  const passing = tried.filter((t) => t.score >= target).sort((a, b) => a.quality - b.quality);
  const failing = tried.filter((t) => t.score < target).sort((a, b) => b.quality - a.quality);
  const [hi, hi2] = passing;
  const [lo, lo2] = failing;
  const low = lo?.quality ?? bounds.min - 1;
  const high = hi?.quality ?? bounds.max + 1;
  if (high - low <= 1) return undefined;
  // Two points, one each side if there are, else the two nearest on the one side.
  const [a, b] = lo && hi ? [lo, hi] : lo && lo2 ? [lo2, lo] : hi && hi2 ? [hi, hi2] : [undefined, undefined];
  const slope = a && b && b.score > a.score ? (b.score - a.score) / (b.quality - a.quality) : PRIOR_SLOPE;
  const from = a ?? (lo as Tried | undefined) ?? (hi as Tried);
  const estimate = from.quality + (target - from.score) / slope;
  // Scores curve upwards with quality, so the secant undershoots: the last try leans a step
  // high, since anything that passes below the best so far is a gain and a near miss is not.
  const q = remaining <= 1 ? Math.ceil(estimate) + 1 : Math.round(estimate);
  return Math.min(high - 1, Math.max(low + 1, q));
}

/**
 * Runs the bounded search over `evaluate` (encode + score at one quality); at most `maxSteps`
 * calls. Returns the lowest passing step, or the highest tried when none passes.
 */
export async function searchQuality<T extends Tried>(evaluate: (quality: number) => Promise<T>, target: number, bounds: QualityBounds, maxSteps = AUTO_QUALITY_MAX_ENCODES): Promise<T> {
  const tried: T[] = [];
  for (let q = nextQuality(tried, target, bounds, maxSteps); q !== undefined && tried.length < maxSteps; q = nextQuality(tried, target, bounds, maxSteps - tried.length)) {
    tried.push(await evaluate(q));
  }
  const passing = tried.filter((t) => t.score >= target);
  const pick = (passing.length ? passing : tried).reduce((best, t) => ((passing.length ? t.quality < best.quality : t.quality > best.quality) ? t : best));
  return pick;
}

async function toRaw(image: sharp.Sharp): Promise<RawImage> {
  const { data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

interface EncodeOptions {
  readonly lossless?: boolean;
  readonly effort?: number;
}

function encoder(format: AutoQualityFormat, quality: number, options: EncodeOptions): (image: sharp.Sharp) => sharp.Sharp {
  const effort = options.effort === undefined ? {} : { effort: options.effort };
  if (format === 'jpeg') return (image) => image.jpeg({ quality });
  if (format === 'webp') return (image) => image.webp({ quality, ...effort, ...(options.lossless ? { lossless: true } : {}) });
  return (image) => image.avif({ quality, ...effort, ...(options.lossless ? { lossless: true } : {}) });
}

/**
 * libheif's effort for AVIF candidates of the mosaic: effort 4 (sharp's default) costs ~15× effort
 * 1 and picks, on the fixtures, the same quality within a step (BENCHMARKS.md); the answer is
 * then encoded once at the caller's effort.
 */
const AVIF_SEARCH_EFFORT = 1;

/** Raw pixels as sharp input; raw input is taken as sRGB, so a grey image has to say so again, or JPEG gets three channels. */
function fromRaw(image: RawImage): sharp.Sharp {
  const input = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels as 1 | 2 | 3 | 4 } });
  return image.channels <= 2 ? input.toColourspace('b-w') : input;
}

/**
 * Encodes `image` (the fully transformed pipeline, before its encoder is chosen) at the lowest
 * quality whose SSIM to the un-encoded output reaches `target`; see the file's JSDoc for the
 * metric and the search: at most {@link AUTO_QUALITY_MAX_ENCODES} search encodes, plus one
 * full-size encode at the quality found when the search ran on the sample mosaic. `lossless`
 * skips the search: one encode, reported as quality 100.
 */
export async function encodeWithAutoQuality(
  image: sharp.Sharp,
  format: AutoQualityFormat,
  options: { target: number; lossless?: boolean; effort?: number },
): Promise<AutoQualityResult> {
  if (!(options.target > 0 && options.target <= 1)) throw new RangeError(`Expected a target in (0, 1] but received ${options.target}`);
  let reference = await toRaw(image.clone());
  if (format === 'jpeg' && hasAlpha(reference.channels)) reference = await toRaw(fromRaw(reference).flatten({ background: '#ffffff' }));
  const evaluateOn = (scored: RawImage, regions: readonly Region[] | undefined, encode: EncodeOptions) => async (quality: number) => {
    const { data, info } = await encoder(format, quality, encode)(fromRaw(scored)).toBuffer({ resolveWithObject: true });
    const decoded = await toRaw(sharp(data));
    return { data, info, quality, score: regions ? perceptualScore(scored, decoded, regions) : perceptualScore(scored, decoded) };
  };
  const whole = evaluateOn(reference, undefined, options);
  if (options.lossless && format !== 'jpeg') return whole(100);
  const bounds = AUTO_QUALITY_BOUNDS[format];
  const sample = searchSample(reference);
  if (!sample) return searchQuality(whole, options.target, bounds);
  const searchEffort = format === 'avif' ? { effort: Math.min(options.effort ?? AVIF_SEARCH_EFFORT, AVIF_SEARCH_EFFORT) } : {};
  const found = await searchQuality(evaluateOn(sample.mosaic, sample.regions, { ...options, ...searchEffort }), options.target, bounds);
  const { data, info } = await encoder(format, found.quality, options)(fromRaw(reference)).toBuffer({ resolveWithObject: true });
  return { data, info, quality: found.quality, score: found.score };
}
