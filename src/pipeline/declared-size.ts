import { imageSize } from 'image-size';
import { decodeShapeOf, describeShape, maxPixelsToDecode } from './decode-budget';
import { detectImageType } from './detect-type';

/** What an image's header declares, read without decoding: undefined when it cannot be parsed. */
export function declaredSizeOf(header: Uint8Array): { width: number; height: number; orientation?: number | undefined } | undefined {
  try {
    const { width, height, orientation } = imageSize(header);
    return width && height ? { width, height, orientation } : undefined;
  } catch {
    return undefined; // not enough of the header in these bytes, or not parseable at all
  }
}

/**
 * Why an image's declared size is over its decode budget, or undefined when it is within it
 * (or declares nothing readable: the decoder has the last word). A few KB of PNG can declare
 * 20000x20000 pixels; only the header is read. A canvas or an AVIF, which cost several times
 * a JPEG's memory per pixel, get proportionally fewer pixels than MAX_INPUT_PIXELS.
 */
export function pixelLimitProblem(header: Uint8Array, declared: { width: number; height: number } | undefined, maxInputPixels: number): string | undefined {
  const type = declared && detectImageType(header);
  if (!declared || !type) return undefined;
  const shape = decodeShapeOf(type, header);
  const limit = maxPixelsToDecode(shape, maxInputPixels);
  if (declared.width * declared.height <= limit) return undefined;
  return `Expected at most ${limit} pixels for ${describeShape(shape)} but the image declares ${declared.width}x${declared.height}`;
}
