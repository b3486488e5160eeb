import { SSIM_WINDOW, type RawImage, type Region } from './perceptual-score';

// What auto quality searches on when the output is large: a mosaic of full-resolution tiles of
// the reference (auto-quality.ts's JSDoc says why tiles rather than a downscaled copy).

/**
 * Tile side: a multiple of 16 (JPEG's 4:2:0 MCU, WebP's macroblock), cut at multiples of itself,
 * so each tile is coded in the same blocks as in the full-size output  and of 64 (AV1's
 * smallest superblock); 5 × 5 whole SSIM windows fit inside it. Measured on the fixtures' 8 photos
 * at 1280 px, JPEG and WebP at q40/60/75, against the score of every window of the output: a
 * sixteenth of 64 px tiles misses it by 0.003 rms (0.007 at worst), 48 px tiles by 0.0036,
 * 32 px by 0.0056, and choosing tiles stratified by variance did no better.
 */
export const SAMPLE_TILE = 64;
/**
 * The share of the image's tiles in the mosaic, and its floor: a search of 4 candidates, each an
 * encode, a decode and the metric, then costs about a quarter of one full-size encode job.
 */
export const SAMPLE_SHARE = 1 / 16;
export const MIN_SAMPLE_TILES = 8;
/**
 * The windows read inside a tile start this far in, so that what crosses a tile's edge in the
 * mosaic (JPEG's chroma upsampling reads 1 chroma sample, 2 px, beyond its block; WebP's and
 * AVIF's loop filters a few px) stays out of the score.
 */
const MARGIN = Math.floor((SAMPLE_TILE - Math.floor(SAMPLE_TILE / SSIM_WINDOW) * SSIM_WINDOW) / 2);
const INNER = Math.floor(SAMPLE_TILE / SSIM_WINDOW) * SSIM_WINDOW;

export interface SearchSample {
  /** The mosaic to encode and score, with the reference's channels. */
  readonly mosaic: RawImage;
  /** What the metric reads in the mosaic. */
  readonly regions: readonly Region[];
  /** The same windows at their place in the reference, to score a full-size output on them. */
  readonly sourceRegions: readonly Region[];
}

/** The R2 low-discrepancy sequence's steps (1/φ₂ and 1/φ₂²): points spread evenly in both directions at any count. */
const [R2_X, R2_Y] = [0.7548776662466927, 0.5698402909980532];

/**
 * Chooses SAMPLE_SHARE of the tiles (at least MIN_SAMPLE_TILES) spread over the image by the R2 sequence (so neither a row nor a
 * column of a photo dominates) and stacks them into a mosaic;
 * undefined when the image is too small for a mosaic to save anything (search it whole).
 */
export function searchSample(reference: RawImage): SearchSample | undefined {
  const { width, height, channels, data } = reference;
  const cols = Math.floor(width / SAMPLE_TILE);
  const rows = Math.floor(height / SAMPLE_TILE);
  // Below twice the smallest mosaic the final full-size encode would cost more than the search saves.
  if (cols * rows < 2 * MIN_SAMPLE_TILES) return undefined;
  const count = Math.max(MIN_SAMPLE_TILES, Math.round(cols * rows * SAMPLE_SHARE));
  const picked = new Set<number>();
  for (let i = 0; picked.size < count && i < 64 * count; i++) {
    const tx = Math.floor(((0.5 + i * R2_X) % 1) * cols);
    const ty = Math.floor(((0.5 + i * R2_Y) % 1) * rows);
    picked.add(ty * cols + tx);
  }
  const tiles = [...picked].sort((a, b) => a - b).map((t) => ({ x: (t % cols) * SAMPLE_TILE, y: Math.floor(t / cols) * SAMPLE_TILE }));
  const across = Math.ceil(Math.sqrt(tiles.length));
  const mosaicWidth = across * SAMPLE_TILE;
  const mosaicHeight = Math.ceil(tiles.length / across) * SAMPLE_TILE;
  // Unfilled cells stay black and unscored: the encoder spends next to nothing on them.
  const out = Buffer.alloc(mosaicWidth * mosaicHeight * channels);
  const rowBytes = SAMPLE_TILE * channels;
  const regions: Region[] = [];
  const sourceRegions: Region[] = [];
  tiles.forEach((tile, i) => {
    const mx = (i % across) * SAMPLE_TILE;
    const my = Math.floor(i / across) * SAMPLE_TILE;
    for (let y = 0; y < SAMPLE_TILE; y++) {
      const from = ((tile.y + y) * width + tile.x) * channels;
      data.copy(out, ((my + y) * mosaicWidth + mx) * channels, from, from + rowBytes);
    }
    regions.push({ x: mx + MARGIN, y: my + MARGIN, width: INNER, height: INNER });
    sourceRegions.push({ x: tile.x + MARGIN, y: tile.y + MARGIN, width: INNER, height: INNER });
  });
  return { mosaic: { data: out, width: mosaicWidth, height: mosaicHeight, channels }, regions, sourceRegions };
}
