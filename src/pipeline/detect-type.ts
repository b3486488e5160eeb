export const IMAGE_TYPES = ['jpeg', 'png', 'gif', 'webp', 'tiff', 'avif', 'svg'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** How many leading bytes detectImageType needs to decide. */
export const HEADER_BYTES = 64;

const MIME_TYPES: Record<ImageType, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  tiff: 'image/tiff',
  avif: 'image/avif',
  svg: 'image/svg+xml',
};

export function mimeTypeOf(type: ImageType): string {
  return MIME_TYPES[type];
}

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);

const ascii = (bytes: Uint8Array, start: number, end: number) =>
  String.fromCharCode(...bytes.subarray(start, Math.min(end, bytes.length)));

/** AVIF is an ISO-BMFF file whose `ftyp` box names `avif`/`avis` as major or compatible brand. */
function isAvif(bytes: Uint8Array): boolean {
  if (ascii(bytes, 4, 8) !== 'ftyp') return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxEnd = Math.min(view.getUint32(0), bytes.length);
  for (let at = 8; at + 4 <= boxEnd; at += 4) {
    if (at === 12) continue; // minor_version, not a brand
    const brand = ascii(bytes, at, at + 4);
    if (brand === 'avif' || brand === 'avis') return true;
  }
  return false;
}

/** SVG is text; only its opening tag (after a BOM, whitespace or an XML declaration) is checked here. */
function isSvg(bytes: Uint8Array): boolean {
  const start = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  const text = ascii(bytes, start, HEADER_BYTES).trimStart();
  return /^<(svg[\s>/]|\?xml\s)/i.test(text);
}

/**
 * Identifies an image by its magic bytes, never by name or declared mime type.
 * Returns undefined for anything that is not one of the IMAGE_TYPES.
 */
export function detectImageType(header: Uint8Array): ImageType | undefined {
  if (startsWith(header, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(header, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(header, 0, 6) === 'GIF87a' || ascii(header, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(header, 0, 4) === 'RIFF' && ascii(header, 8, 12) === 'WEBP') return 'webp';
  if (startsWith(header, [0x49, 0x49, 0x2a, 0x00]) || startsWith(header, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (header.length >= 12 && isAvif(header)) return 'avif';
  if (isSvg(header)) return 'svg';
  return undefined;
}
