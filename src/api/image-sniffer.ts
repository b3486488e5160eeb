import { Transform, type TransformCallback } from 'node:stream';
import { detectImageType, HEADER_BYTES, IMAGE_TYPES, type ImageType } from '../pipeline';
import { HttpError } from './errors';

const DISPLAY_NAMES: Record<ImageType, string> = { jpeg: 'JPEG', png: 'PNG', gif: 'GIF', webp: 'WebP', tiff: 'TIFF', avif: 'AVIF', svg: 'SVG' };

/** The types an upload may have; SVG only when allowed, since it can reference external resources. */
export function acceptedTypes(allowSvg: boolean): readonly ImageType[] {
  return IMAGE_TYPES.filter((type) => type !== 'svg' || allowSvg);
}

/** "JPEG, PNG, … or TIFF": the one wording of the accepted types, for error details and the API docs. */
export function describeAcceptedTypes(allowSvg: boolean): string {
  const names = acceptedTypes(allowSvg).map((type) => DISPLAY_NAMES[type]);
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/**
 * The type of an upload from its first bytes (HEADER_BYTES are enough), or the refusal an
 * upload of something else gets: what the sniffer checks while a file streams in, and what a
 * direct upload's first bytes are checked with once it is in the bucket.
 */
export function checkImageHeader(header: Buffer, allowSvg: boolean): ImageType {
  if (header.length === 0) throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'The file is empty');
  const type = detectImageType(header);
  if (type === undefined || !acceptedTypes(allowSvg).includes(type)) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `Expected a ${describeAcceptedTypes(allowSvg)} image (checked by content, not by name)`);
  }
  return type;
}

/** Passes bytes through unchanged, and fails the stream as soon as the first bytes are not an image. */
export class ImageSniffer extends Transform {
  detected: ImageType | undefined;
  bytes = 0;
  private header: Buffer[] = [];
  private headerLength = 0;

  constructor(private readonly allowSvg: boolean) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.detected === undefined) {
      this.header.push(chunk);
      this.headerLength += chunk.length;
      if (this.headerLength < HEADER_BYTES) return done();
      const error = this.check();
      if (error) return done(error);
      return done(null, Buffer.concat(this.header));
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.detected !== undefined) return done();
    const error = this.check();
    done(error, error ? undefined : Buffer.concat(this.header));
  }

  private check(): HttpError | undefined {
    try {
      this.detected = checkImageHeader(Buffer.concat(this.header), this.allowSvg);
      return undefined;
    } catch (err) {
      if (err instanceof HttpError) return err;
      throw err;
    }
  }
}
