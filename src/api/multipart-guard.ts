import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { HttpError } from './errors';

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}`, 'y');
// The parameter grammar busboy's parseContentType reads, or looser: whatever busboy can read, this reads the same.
const PARAMETER = new RegExp(`[ \\t]*;[ \\t]*(${TOKEN})=(?:(${TOKEN})|"((?:[^"\\\\]|\\\\[\\s\\S])*)")`, 'y');
// RFC 2046: 1 to 70 bchars, the last not a space. None is CR or LF, so two delimiters never overlap.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/**
 * The boundary busboy will split the body on: the first `boundary` parameter, as busboy reads
 * it. Undefined when there is none, and busboy refuses the body itself.
 */
export function multipartBoundary(contentType: string): string | undefined {
  MEDIA_TYPE.lastIndex = 0;
  if (!MEDIA_TYPE.test(contentType)) return undefined;
  PARAMETER.lastIndex = MEDIA_TYPE.lastIndex;
  for (let m = PARAMETER.exec(contentType); m; m = PARAMETER.exec(contentType)) {
    if (m[1]?.toLowerCase() !== 'boundary') continue;
    const boundary = m[2] ?? (m[3] ?? '').replace(/\\([\s\S])/g, '$1');
    // busboy unescapes quoted values its own way; a valid boundary has nothing to unescape, so both agree on it.
    if (!BOUNDARY.test(boundary)) {
      throw new HttpError('MALFORMED_MULTIPART', `Expected a boundary of 1 to 70 letters, digits or '()+_,-./:=? (RFC 2046) but received ${JSON.stringify(boundary.slice(0, 80))}`);
    }
    return boundary;
  }
  return undefined;
}

export interface GuardLimits {
  readonly maxBodyBytes: number;
  readonly maxPreambleBytes: number;
}

/** Where `needle` ends in `chunk`, also when it starts in the bytes before it (`carry`); -1 if nowhere. */
function endOf(needle: Buffer, carry: Buffer, chunk: Buffer): number {
  const before = carry.subarray(Math.max(0, carry.length - (needle.length - 1)));
  const across = Buffer.concat([before, chunk.subarray(0, needle.length - 1)]).indexOf(needle);
  if (across !== -1) return across - before.length + needle.length;
  const within = chunk.indexOf(needle);
  return within === -1 ? -1 : within + needle.length;
}

/** The last `n` bytes of carry + chunk, copied so a large chunk is not kept alive by them. */
function lastBytes(carry: Buffer, chunk: Buffer, n: number): Buffer {
  const joined = chunk.length >= n ? chunk : Buffer.concat([carry, chunk]);
  return Buffer.from(joined.subarray(Math.max(0, joined.length - n)));
}

/**
 * Stands between the request and busboy. busboy keeps parsing the rest of a chunk after its
 * close delimiter; a file part there gets a stream that never ends, and busboy then waits for
 * it forever. So busboy is given the body up to its close delimiter and nothing after it. An
 * epilogue holding another delimiter is refused (two parsers would disagree on its parts), and
 * the body and its preamble are counted against their limits as they arrive.
 *
 * It never emits 'error': a refusal goes to `onRefuse`, and the bytes after it are dropped.
 */
export class MultipartGuard extends Transform {
  private readonly delimiter: Buffer;
  private readonly close: Buffer;
  private phase: 'preamble' | 'parts' | 'epilogue' = 'preamble';
  // busboy prepends CR LF to the body, so that a body starting with its first delimiter has no preamble.
  private carry: Buffer = Buffer.from('\r\n');
  private received = 0;
  private refused = false;

  constructor(
    boundary: string,
    private readonly limits: GuardLimits,
    private readonly onRefuse: (err: HttpError) => void,
  ) {
    super();
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.close = Buffer.from(`\r\n--${boundary}--`, 'latin1');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.refused) return done();
    this.received += chunk.length;
    if (this.received > this.limits.maxBodyBytes) {
      return this.refuse(new HttpError('PAYLOAD_TOO_LARGE', `Expected a body of at most ${this.limits.maxBodyBytes} bytes but received more`), done);
    }
    if (this.phase === 'preamble') {
      const end = endOf(this.delimiter, this.carry, chunk);
      // Until the first delimiter is found, its first bytes may be the last ones received.
      const preamble = end === -1 ? this.received - (this.delimiter.length - 1) : this.received - chunk.length + end - this.delimiter.length;
      if (preamble > this.limits.maxPreambleBytes) {
        return this.refuse(new HttpError('PAYLOAD_TOO_LARGE', `Expected at most ${this.limits.maxPreambleBytes} bytes before the first boundary but received more`), done);
      }
      if (end !== -1) this.phase = 'parts';
    }
    let epilogue: Buffer = chunk;
    if (this.phase !== 'epilogue') {
      const end = endOf(this.close, this.carry, chunk);
      if (end === -1) {
        this.carry = lastBytes(this.carry, chunk, this.close.length - 1);
        this.push(chunk);
        return done();
      }
      this.push(chunk.subarray(0, end));
      this.phase = 'epilogue';
      this.carry = Buffer.alloc(0);
      epilogue = chunk.subarray(end);
    }
    if (endOf(this.delimiter, this.carry, epilogue) !== -1) {
      return this.refuse(new HttpError('MALFORMED_MULTIPART', 'Expected nothing but an epilogue after the close delimiter but received another boundary'), done);
    }
    this.carry = lastBytes(this.carry, epilogue, this.delimiter.length - 1);
    done();
  }

  private refuse(err: HttpError, done: TransformCallback): void {
    this.refused = true;
    this.onRefuse(err);
    done();
  }
}

/**
 * A multer `streamHandler` that feeds busboy through a MultipartGuard, for a route that needs no
 * upload session (the CSV of POST /process-urls): a refusal stops reading and fails busboy, so
 * multer answers with it.
 */
export function guardedStreamHandler(limits: GuardLimits): (req: IncomingMessage, busboy: Writable) => void {
  return (req, busboy) => {
    const boundary = multipartBoundary(req.headers['content-type'] ?? '');
    if (!boundary) {
      busboy.destroy(new HttpError('MALFORMED_MULTIPART', 'Expected a multipart body with a valid boundary'));
      return;
    }
    const guard = new MultipartGuard(boundary, limits, (err) => {
      req.unpipe(guard);
      busboy.destroy(err);
    });
    req.pipe(guard).pipe(busboy);
  };
}
