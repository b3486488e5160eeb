const GPS_IFD_POINTER = 0x8825;
const TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };

/** The GPS IFD of a TIFF structure (an EXIF block), its entries' out-of-line values zeroed and its count set to 0, in place. */
function emptyGpsIfd(tiff: Buffer): boolean {
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd0 = u32(4);
  if (ifd0 + 2 > tiff.length) return false;
  let gps: number | undefined;
  for (let i = 0, n = u16(ifd0); i < n; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (entry + 12 > tiff.length) return false;
    if (u16(entry) === GPS_IFD_POINTER) gps = u32(entry + 8);
  }
  if (gps === undefined || gps + 2 > tiff.length) return false;
  const count = u16(gps);
  for (let i = 0; i < count; i++) {
    const entry = gps + 2 + i * 12;
    if (entry + 12 > tiff.length) break;
    const bytes = (TYPE_SIZES[u16(entry + 2)] ?? 1) * u32(entry + 4);
    if (bytes > 4) {
      const at = u32(entry + 8);
      if (at + bytes <= tiff.length) tiff.fill(0, at, at + bytes);
    }
    tiff.fill(0, entry, entry + 12);
  }
  tiff.fill(0, gps, gps + 2);
  return true;
}

let crcTable: Uint32Array | undefined;
function crc32(bytes: Buffer): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const b of bytes) crc = (crcTable[(crc ^ b) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A PNG's chunks carry a CRC; the eXIf chunk that holds `at` gets its CRC rewritten. */
function fixPngCrc(png: Buffer, at: number): void {
  for (let chunk = 8; chunk + 12 <= png.length; ) {
    const length = png.readUInt32BE(chunk);
    const end = chunk + 8 + length;
    if (at >= chunk + 8 && at < end) {
      png.writeUInt32BE(crc32(png.subarray(chunk + 4, end)), end);
      return;
    }
    chunk = end + 4;
  }
}

/**
 * A copy of the encoded image whose EXIF has an empty GPS IFD, so a decoder that keeps EXIF
 * keeps everything but the location. `exif` is the block sharp's metadata() read from it. Lengths
 * never change, so the container (JPEG APP1, PNG eXIf, WebP EXIF, AVIF item) stays valid.
 */
export function withoutGps(input: Buffer, exif: Buffer | undefined): Buffer {
  if (!exif) return input;
  const tiffStart = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? 6 : 0;
  const signature = exif.subarray(tiffStart, tiffStart + 16);
  const at = input.indexOf(signature);
  if (signature.length < 8 || at < 0) return input;
  const copy = Buffer.from(input);
  const tiff = copy.subarray(at, at + exif.length - tiffStart);
  if (!emptyGpsIfd(tiff)) return input;
  if (copy.toString('latin1', 1, 4) === 'PNG') fixPngCrc(copy, at);
  return copy;
}
