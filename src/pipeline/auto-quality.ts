import type sharp from 'sharp';

// STUB (issue 7): the search itself is being written in parallel and replaces this file at
// merge. Only the signature is the contract: keep it exactly. Until then "auto" means q80.
/** Encodes `image` (fully transformed, no encoder chosen yet) at the lowest quality that keeps `target`. */
export async function encodeWithAutoQuality(
  image: sharp.Sharp,
  format: 'jpeg' | 'webp' | 'avif',
  options: { target: number; lossless?: boolean; effort?: number },
): Promise<{ data: Buffer; info: sharp.OutputInfo; quality: number; score: number }> {
  const quality = 80;
  const encoded = format === 'jpeg' ? image.jpeg({ quality }) : image[format]({ quality, lossless: options.lossless ?? false, ...(options.effort === undefined ? {} : { effort: options.effort }) });
  const { data, info } = await encoded.toBuffer({ resolveWithObject: true });
  return { data, info, quality, score: 1 };
}
