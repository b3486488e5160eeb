import { Transform, type TransformCallback } from 'node:stream';
import { acceptedTypes, notAnImageDetail } from '../core/accepted-types';
import { detectImageType, HEADER_BYTES, type ImageType } from '../pipeline';
import { HttpError } from './errors';

/** Passes bytes through unchanged, and fails the stream as soon as the first bytes are not an image. */
export class ImageSniffer extends Transform {
  detected: ImageType | undefined;
  bytes = 0;
  private header: Buffer[] = [];
  private headerLength = 0;
  private readonly accepted: ReadonlySet<ImageType>;

  constructor(private readonly allowSvg: boolean) {
    super();
    this.accepted = new Set(acceptedTypes(allowSvg));
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
    if (this.bytes === 0) return new HttpError('UNSUPPORTED_MEDIA_TYPE', notAnImageDetail(this.allowSvg, true));
    const type = detectImageType(Buffer.concat(this.header));
    if (type === undefined || !this.accepted.has(type)) return new HttpError('UNSUPPORTED_MEDIA_TYPE', notAnImageDetail(this.allowSvg, false));
    this.detected = type;
    return undefined;
  }
}
