import { hitchhikersSSIM } from '@blazediff/ssim/hitchhikers-ssim';

// The metric of auto quality (auto-quality.ts's JSDoc says why this one): SSIM on luma at
// output size, 11 px non-overlapping windows, mean-pooled, colour flattened on white and alpha
// scored apart.

export interface RawImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

const SSIM_WINDOW = 11;

export const hasAlpha = (channels: number) => channels === 2 || channels === 4;

/**
 * Square tiles of whole SSIM windows (8 × 11 px): with non-overlapping windows, a mosaic of tiles
 * has exactly the windows of those tiles, so its mean SSIM is a sample of the full image's.
 */
const TILE = 8 * SSIM_WINDOW;
/** One tile in SAMPLE_EVERY, spread diagonally over the image; below SAMPLE_ABOVE pixels, all of it. */
const SAMPLE_EVERY = 4;
const SAMPLE_ABOVE = 512 * 512;

/** Which tiles the metric reads: tile (x, y) of a `width` × `height` image, or the whole image. */
function tilesOf(width: number, height: number): { x: number; y: number }[] | undefined {
  if (width * height <= SAMPLE_ABOVE) return undefined;
  const tiles: { x: number; y: number }[] = [];
  for (let ty = 0; ty < Math.floor(height / TILE); ty++) {
    for (let tx = 0; tx < Math.floor(width / TILE); tx++) if ((tx + 2 * ty) % SAMPLE_EVERY === 0) tiles.push({ x: tx * TILE, y: ty * TILE });
  }
  // A long thin strip has too few whole tiles to sample: read all of it.
  return tiles.length >= SAMPLE_EVERY ? tiles : undefined;
}

interface Plane {
  readonly rgba: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * RGBA for the metric, of the sampled tiles stacked into one column (or the whole image): colour
 * flattened on white, or (plane = 'alpha') the alpha channel as grey.
 */
function toPlane(image: RawImage, plane: 'colour' | 'alpha'): Plane {
  const { data, channels } = image;
  const sampled = tilesOf(image.width, image.height);
  const tiles = sampled ?? [{ x: 0, y: 0 }];
  const [w, h] = sampled ? [TILE, TILE * sampled.length] : [image.width, image.height];
  const rows = sampled ? TILE : image.height;
  const alpha = hasAlpha(channels);
  const grey = channels < 3;
  const out = new Uint8Array(w * h * 4);
  let o = 0;
  for (const tile of tiles) {
    for (let y = tile.y; y < tile.y + rows; y++) {
      for (let x = tile.x, at = (y * image.width + tile.x) * channels; x < tile.x + w; x++, at += channels, o += 4) {
        const a = alpha ? (data[at + channels - 1] as number) : 255;
        if (plane === 'alpha') {
          out[o] = out[o + 1] = out[o + 2] = a;
        } else if (alpha) {
          for (let c = 0; c < 3; c++) out[o + c] = Math.round(((data[at + (grey ? 0 : c)] as number) * a + 255 * (255 - a)) / 255);
        } else {
          out[o] = data[at] as number;
          out[o + 1] = data[at + (grey ? 0 : 1)] as number;
          out[o + 2] = data[at + (grey ? 0 : 2)] as number;
        }
        out[o + 3] = 255;
      }
    }
  }
  return { rgba: out, width: w, height: h };
}

/** The reference's planes, converted once per search rather than once per candidate. */
const referencePlanes = new WeakMap<RawImage, { colour?: Plane; alpha?: Plane }>();

/** SSIM on luma between a reference and a candidate of the same size (see the file's JSDoc); 1 is identical. */
export function perceptualScore(reference: RawImage, candidate: RawImage): number {
  const { width, height } = reference;
  if (candidate.width !== width || candidate.height !== height) {
    throw new Error(`Expected a candidate of ${width}x${height} but received ${candidate.width}x${candidate.height}`);
  }
  const planes = referencePlanes.get(reference) ?? {};
  referencePlanes.set(reference, planes);
  const ssim = (plane: 'colour' | 'alpha') => {
    const ref = (planes[plane] ??= toPlane(reference, plane));
    const windowSize = Math.max(1, Math.min(SSIM_WINDOW, ref.width, ref.height));
    return hitchhikersSSIM(ref.rgba, toPlane(candidate, plane).rgba, undefined, ref.width, ref.height, { windowSize, covPooling: false });
  };
  const colour = ssim('colour');
  return hasAlpha(reference.channels) && hasAlpha(candidate.channels) ? Math.min(colour, ssim('alpha')) : colour;
}
