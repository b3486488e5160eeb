import { openSync, readSync, closeSync } from 'node:fs';
import { detectImageType, HEADER_BYTES, type ImageType } from '../../src/pipeline';
import { fixtures } from '../fixtures/images';

const bytes = (...parts: (string | number[] | Uint8Array)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Uint8Array.from(p))));

/** An ISO-BMFF `ftyp` box: size, 'ftyp', major brand, minor version, compatible brands. */
function ftyp(major: string, minorVersion: string, ...compatible: string[]): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(16 + 4 * compatible.length);
  return bytes(size, 'ftyp', major, minorVersion, ...compatible);
}

function headerOf(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(HEADER_BYTES);
    return buffer.subarray(0, readSync(fd, buffer, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

describe('detectImageType', () => {
  it.each<[string, Buffer, ImageType]>([
    ['JPEG (JFIF)', bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], 'JFIF'), 'jpeg'],
    ['JPEG (EXIF)', bytes([0xff, 0xd8, 0xff, 0xe1, 0, 0x10], 'Exif'), 'jpeg'],
    ['PNG', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d], 'IHDR'), 'png'],
    ['GIF87a', bytes('GIF87a', [1, 0, 1, 0]), 'gif'],
    ['GIF89a', bytes('GIF89a', [1, 0, 1, 0]), 'gif'],
    ['WebP', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), 'webp'],
    ['little-endian TIFF', bytes([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), 'tiff'],
    ['big-endian TIFF', bytes([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]), 'tiff'],
    ['AVIF (major brand avif)', ftyp('avif', '\0\0\0\0', 'mif1', 'miaf'), 'avif'],
    ['AVIF sequence (major brand avis)', ftyp('avis', '\0\0\0\0', 'msf1'), 'avif'],
    ['AVIF (avif only as a compatible brand)', ftyp('mif1', '\0\0\0\0', 'miaf', 'avif'), 'avif'],
    ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'svg'],
    ['SVG after an XML declaration', bytes('<?xml version="1.0"?><svg/>'), 'svg'],
    ['SVG after a BOM and whitespace', bytes([0xef, 0xbb, 0xbf], '\n  <svg>'), 'svg'],
  ])('recognises %s', (_name, header, type) => {
    expect(detectImageType(header)).toBe(type);
  });

  it.each<[string, Buffer]>([
    ['HEIC (ftyp without an AVIF brand)', ftyp('heic', '\0\0\0\0', 'mif1', 'heic')],
    ['HEIF (mif1 only)', ftyp('mif1', '\0\0\0\0', 'mif1', 'heix')],
    ['an MP4 video', ftyp('isom', '\0\0\x02\0', 'isom', 'iso2', 'mp41')],
    ['"avif" in the minor-version slot, which is not a brand', ftyp('heic', 'avif', 'mif1')],
    ['"avif" past the end of the ftyp box', Buffer.concat([ftyp('heic', '\0\0\0\0', 'mif1'), bytes('avif')])],
    ['a PDF', bytes('%PDF-1.7\n%âãÏÓ')],
    ['HTML', bytes('<!DOCTYPE html><html><body>not an image</body></html>')],
    ['plain text', bytes('just some text, no magic')],
    ['a RIFF that is not WebP (WAV)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')],
    ['a GIF signature with an unknown version', bytes('GIF90a', [1, 0, 1, 0])],
    ['a JPEG start cut after two bytes', bytes([0xff, 0xd8])],
    ['a PNG signature cut short', bytes([0x89, 0x50, 0x4e, 0x47])],
    ['random bytes', Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7])],
    ['zeros', Buffer.alloc(HEADER_BYTES)],
    ['nothing', Buffer.alloc(0)],
  ])('returns undefined for %s', (_name, header) => {
    expect(detectImageType(header)).toBeUndefined();
  });

  it.each<[string, string, ImageType]>([
    ['Landscape_6.jpg', fixtures.jpegExif6, 'jpeg'],
    ['Channel_digital_image_CMYK_color.jpg', fixtures.cmykJpeg, 'jpeg'],
    ['blackbug.png', fixtures.rgbaPng, 'png'],
    ['16-bit-grey-alpha.png', fixtures.grey16AlphaPng, 'png'],
    ['4.webp', fixtures.webp, 'webp'],
    ['animated-loop-3.webp', fixtures.animatedWebp, 'webp'],
    ['rotating-squares.gif', fixtures.animatedGif, 'gif'],
    ['G31D.TIF', fixtures.tiff1Bit, 'tiff'],
    ['sdr_cosmos…qp10.avif', fixtures.avif, 'avif'],
  ])('recognises the real file %s from its first HEADER_BYTES bytes', (_name, file, type) => {
    expect(detectImageType(headerOf(file))).toBe(type);
  });

  it('looks only at content: a subarray at an offset of a larger buffer works the same', () => {
    const backing = Buffer.concat([Buffer.from('junk'), ftyp('avif', '\0\0\0\0', 'mif1')]);
    expect(detectImageType(backing.subarray(4))).toBe('avif');
  });
});
