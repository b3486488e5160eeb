// The metric of auto quality (auto-quality.ts's JSDoc says why this one): SSIM on luma at
// output size, 11 px non-overlapping windows, mean-pooled, colour flattened on white and alpha
// scored apart. It is @blazediff/ssim's `hitchhikersSSIM` with `covPooling: false` (same luma
// weights, constants and windows; test/unit/auto-quality.test.ts checks the two agree), computed
// here straight from sharp's raw channels: no RGBA copy and no integral images, which made the
// library's form 30–40 ms per candidate at 1280 px and the search's largest cost.

export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** A rectangle of `image` whose whole windows the metric reads. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export const SSIM_WINDOW = 11;
// Wang et al.'s constants for 8-bit data: (0.01 × 255)² and (0.03 × 255)².
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
// BT.601 luma, as hitchhikersSSIM weighs it.
const [KR, KG, KB] = [0.298936, 0.587043, 0.114021];

export const hasAlpha = (channels: number) => channels === 2 || channels === 4;

/**
 * Square tiles of whole SSIM windows (8 × 11 px): with non-overlapping windows, a set of tiles
 * has exactly the windows of those tiles, so its mean SSIM is a sample of the full image's.
 */
const TILE = 8 * SSIM_WINDOW;
/** One tile in SAMPLE_EVERY, spread diagonally over the image; below SAMPLE_ABOVE pixels, all of it. */
const SAMPLE_EVERY = 4;
const SAMPLE_ABOVE = 512 * 512;

/** Which regions the metric reads: the sampled tiles of a `width` × `height` image, or the whole image. */
function regionsOf(width: number, height: number): Region[] {
  const whole = [{ x: 0, y: 0, width, height }];
  if (width * height <= SAMPLE_ABOVE) return whole;
  const tiles: Region[] = [];
  for (let ty = 0; ty < Math.floor(height / TILE); ty++) {
    for (let tx = 0; tx < Math.floor(width / TILE); tx++) if ((tx + 2 * ty) % SAMPLE_EVERY === 0) tiles.push({ x: tx * TILE, y: ty * TILE, width: TILE, height: TILE });
  }
  // A long thin strip has too few whole tiles to sample: read all of it.
  return tiles.length >= SAMPLE_EVERY ? tiles : whole;
}

/**
 * What one pixel contributes to the plane: luma of the colour flattened on white, or the alpha
 * value (as grey, whose luma is itself).
 */
function sampler(image: RawImage, plane: 'colour' | 'alpha'): (at: number) => number {
  const { data, channels } = image;
  const alpha = hasAlpha(channels);
  const grey = channels < 3;
  if (plane === 'alpha') return (at) => (alpha ? (data[at + channels - 1] as number) : 255);
  const luma = grey ? (at: number) => data[at] as number : (at: number) => KR * (data[at] as number) + KG * (data[at + 1] as number) + KB * (data[at + 2] as number);
  if (!alpha) return luma;
  // Flattened per channel then weighed, as the RGBA form did: luma(flat) = (luma·a + 255·(255 − a)) / 255 up to rounding.
  const flat = (v: number, a: number) => Math.round((v * a + 255 * (255 - a)) / 255);
  return grey
    ? (at) => flat(data[at] as number, data[at + 1] as number)
    : (at) => {
        const a = data[at + 3] as number;
        return KR * flat(data[at] as number, a) + KG * flat(data[at + 1] as number, a) + KB * flat(data[at + 2] as number, a);
      };
}

/** Mean SSIM over the whole `window`-px windows of `regions`, in one plane of two images of the same size. */
function meanSsim(reference: RawImage, candidate: RawImage, regions: readonly Region[], plane: 'colour' | 'alpha', window: number): number {
  const ref = sampler(reference, plane);
  const cand = sampler(candidate, plane);
  const n = window * window;
  let sum = 0;
  let count = 0;
  for (const region of regions) {
    for (let wy = region.y; wy + window <= region.y + region.height; wy += window) {
      for (let wx = region.x; wx + window <= region.x + region.width; wx += window) {
        let sx = 0;
        let sy = 0;
        let sxx = 0;
        let syy = 0;
        let sxy = 0;
        for (let y = wy; y < wy + window; y++) {
          let a = (y * reference.width + wx) * reference.channels;
          let b = (y * candidate.width + wx) * candidate.channels;
          for (let x = 0; x < window; x++, a += reference.channels, b += candidate.channels) {
            const p = ref(a);
            const q = cand(b);
            sx += p;
            sy += q;
            sxx += p * p;
            syy += q * q;
            sxy += p * q;
          }
        }
        const mx = sx / n;
        const my = sy / n;
        const vx = sxx / n - mx * mx;
        const vy = syy / n - my * my;
        const cxy = sxy / n - mx * my;
        sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        count++;
      }
    }
  }
  return sum / count;
}

/**
 * SSIM on luma between a reference and a candidate of the same size (see the file's comment);
 * 1 is identical. `regions` picks what to read (whole windows only); by default the whole image,
 * or above 512×512 px a quarter of it in tiles spread diagonally.
 */
export function perceptualScore(reference: RawImage, candidate: RawImage, regions: readonly Region[] = regionsOf(reference.width, reference.height)): number {
  const { width, height } = reference;
  if (candidate.width !== width || candidate.height !== height) {
    throw new Error(`Expected a candidate of ${width}x${height} but received ${candidate.width}x${candidate.height}`);
  }
  // A region smaller than the window shrinks it (down to 1 px, where SSIM is the luminance term alone).
  const window = Math.max(1, Math.min(SSIM_WINDOW, ...regions.flatMap((r) => [r.width, r.height])));
  const colour = meanSsim(reference, candidate, regions, 'colour', window);
  return hasAlpha(reference.channels) && hasAlpha(candidate.channels) ? Math.min(colour, meanSsim(reference, candidate, regions, 'alpha', window)) : colour;
}
