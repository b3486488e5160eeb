import { Transform, type TransformCallback } from 'node:stream';
import { detectImageType, HEADER_BYTES, type ImageType } from '../pipeline';
import { HttpError } from './errors';

/** Passes bytes through unchanged, and fails the stream as soon as the first bytes are not an image. */
export class ImageSniffer extends Transform {
  detected: ImageType | undefined;
  bytes = 0;
  private header: Buffer[] = [];
  private headerLength = 0;

  constructor(private readonly accept: (type: ImageType | undefined) => type is ImageType) {
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
    if (this.bytes === 0) return new HttpError('UNSUPPORTED_MEDIA_TYPE', 'The file is empty');
    const type = detectImageType(Buffer.concat(this.header));
    if (!this.accept(type)) {
      return new HttpError('UNSUPPORTED_MEDIA_TYPE', 'Expected a JPEG, PNG, WebP, GIF, AVIF or TIFF image (checked by content, not by name)');
    }
    this.detected = type;
    return undefined;
  }
}
