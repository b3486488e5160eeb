import { Transform, type TransformCallback } from 'node:stream';
import { acceptedTypes, notAnImageDetail } from '../core/accepted-types';
import { detectImageType, HEADER_BYTES, type ImageType } from '../pipeline';
import { HttpError } from './errors';

/** One buffer of `chunks` without a copy when there is only one. */
const joined = (chunks: readonly Buffer[]): Buffer => (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));

/**
 * Passes bytes through unchanged, and fails the stream as soon as the first bytes are not an
 * image. Keeps a reference to the chunks of the first `keepBytes` (no copy), so checks of the
 * header after the upload need not read the file back.
 */
export class ImageSniffer extends Transform {
  detected: ImageType | undefined;
  bytes = 0;
  private header: Buffer[] = [];
  private headerLength = 0;
  private readonly kept: Buffer[] = [];
  private keptLength = 0;
  private readonly accepted: ReadonlySet<ImageType>;

  constructor(
    private readonly allowSvg: boolean,
    private readonly keepBytes = 0,
  ) {
    super();
    this.accepted = new Set(acceptedTypes(allowSvg));
  }

  /** The first `keepBytes` of the stream, or all of it when it was shorter. */
  head(): Buffer {
    return joined(this.kept).subarray(0, this.keepBytes);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.keptLength < this.keepBytes) {
      this.kept.push(chunk);
      this.keptLength += chunk.length;
    }
    if (this.detected === undefined) {
      this.header.push(chunk);
      this.headerLength += chunk.length;
      if (this.headerLength < HEADER_BYTES) return done();
      const error = this.check();
      if (error) return done(error);
      return done(null, joined(this.header));
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.detected !== undefined) return done();
    const error = this.check();
    done(error, error ? undefined : joined(this.header));
  }

  private check(): HttpError | undefined {
    if (this.bytes === 0) return new HttpError('UNSUPPORTED_MEDIA_TYPE', notAnImageDetail(this.allowSvg, true));
    const type = detectImageType(joined(this.header));
    if (type === undefined || !this.accepted.has(type)) return new HttpError('UNSUPPORTED_MEDIA_TYPE', notAnImageDetail(this.allowSvg, false));
    this.detected = type;
    return undefined;
  }
}
