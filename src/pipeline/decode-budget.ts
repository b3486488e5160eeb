import type { ImageType } from './detect-type';

/**
 * How a decoder holds an image in memory, which is what decides the cost of a declared pixel:
 * - `streamed`: libvips decodes a strip at a time and JPEG/WebP shrink on load (baseline JPEG,
 *   PNG, TIFF, still WebP).
 * - `buffered`: one full-size buffer before anything is resized: a progressive JPEG's DCT
 *   coefficients, the RGBA canvas a GIF or an animated WebP is composited onto, an SVG's surface.
 * - `whole`: libheif decodes the entire AVIF, with the AV1 decoder's reference frames beside it.
 */
export type DecodeShape = 'streamed' | 'buffered' | 'whole';

/**
 * Worker memory per declared pixel, measured with DEFAULT_SPEC at 64–100 MP and rounded up
 * (BENCHMARKS.md, "Decode memory"): streamed ≤ 1.4 (16-bit RGBA PNG), buffered ≤ 5.8
 * (progressive 4:4:4 JPEG), whole 16–19 (AVIF).
 */
export const DECODE_BYTES_PER_PIXEL: Readonly<Record<DecodeShape, number>> = { streamed: 2, buffered: 6, whole: 20 };

/**
 * What one job may spend decoding: MAX_INPUT_PIXELS at the streamed cost, so the limit means
 * what it always meant for a JPEG or PNG and a costlier shape gets proportionally fewer pixels.
 * A worker's peak is then about its baseline + concurrency × this.
 */
export function decodeBudgetBytes(maxInputPixels: number): number {
  return maxInputPixels * DECODE_BYTES_PER_PIXEL.streamed;
}

/**
 * The most pixels an image of this shape may decode: its canvas when only the first frame is
 * output, pages × canvas when an animated output keeps every frame (sharp counts all pages loaded).
 */
export function maxPixelsToDecode(shape: DecodeShape, maxInputPixels: number): number {
  return Math.floor(decodeBudgetBytes(maxInputPixels) / DECODE_BYTES_PER_PIXEL[shape]);
}

const SHAPE_NAMES: Record<DecodeShape, string> = {
  streamed: 'this image',
  buffered: 'an image decoded into one full-size buffer (progressive JPEG, GIF, animated WebP, SVG)',
  whole: 'an AVIF (decoded whole)',
};

/** For error messages: why this image's limit is what it is. */
export function describeShape(shape: DecodeShape): string {
  return SHAPE_NAMES[shape];
}

// Start-of-frame markers: SOF2, SOF6, SOF10 and SOF14 are progressive; C4 (DHT), C8 (JPG) and
// CC (DAC) share the range but are not frames.
const isFrameMarker = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
const isProgressiveFrame = (m: number) => m === 0xc2 || m === 0xc6 || m === 0xca || m === 0xce;

/** Undefined when the frame header lies beyond `bytes` (the caller read only the start). */
function isProgressiveJpeg(bytes: Uint8Array): boolean | undefined {
  for (let at = 2; at + 4 <= bytes.length; ) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (isFrameMarker(marker)) return isProgressiveFrame(marker);
    at += 2 + (((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
  }
  return undefined;
}

/** An extended WebP whose VP8X flags have the animation bit set. */
const isAnimatedWebp = (bytes: Uint8Array) => String.fromCharCode(...bytes.subarray(12, 16)) === 'VP8X' && ((bytes[20] ?? 0) & 0x02) !== 0;

/**
 * The decode shape of an image, from its leading bytes. A JPEG whose frame header is not within
 * `bytes` counts as buffered: the costlier guess, since the cheaper one could let a bomb through.
 */
export function decodeShapeOf(type: ImageType, bytes: Uint8Array): DecodeShape {
  switch (type) {
    case 'avif':
      return 'whole';
    case 'gif':
    case 'svg':
      return 'buffered';
    case 'webp':
      return isAnimatedWebp(bytes) ? 'buffered' : 'streamed';
    case 'jpeg':
      return isProgressiveJpeg(bytes) === false ? 'streamed' : 'buffered';
    case 'png':
    case 'tiff':
      return 'streamed';
  }
}
