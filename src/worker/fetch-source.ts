import type { IncomingHttpHeaders } from 'node:http';
import { refusalOf, type GuardedClient } from '../net';
import { declaredSizeOf, detectImageType, pixelLimitProblem, type ImageType } from '../pipeline';
import { URL_FAILURES, type UrlFailureCode } from '../queue/url-failures';
import type { Semaphore } from './semaphore';

/** A download that failed, with the code its job's failedReason starts with (queue/url-failures.ts). */
export class FetchFailedError extends Error {
  override name = 'FetchFailedError';
  readonly permanent: boolean;
  constructor(
    readonly code: UrlFailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.permanent = !URL_FAILURES[code].retried;
  }
}

export interface FetchLimits {
  readonly maxBytes: number;
  readonly maxInputPixels: number;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly allowSvg: boolean;
  readonly userAgent: string;
}

export interface FetchDeps {
  readonly client: GuardedClient;
  readonly limits: FetchLimits;
  /** All downloads of this process, and those per host: taken before connecting, given back once the body is in. */
  readonly slots: Semaphore;
  readonly perHost: { run<T>(key: string, fn: () => Promise<T>): Promise<T> };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * The first errno-like code along an error's cause chain; a timeout is ETIMEDOUT. Read by shape,
 * not instanceof: the signal's DOMException comes from another realm under some runners.
 */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = 'cause' in e ? e.cause : undefined, depth++) {
    const name = 'name' in e ? e.name : undefined;
    if (name === 'TimeoutError' || name === 'AbortError') return 'ETIMEDOUT';
    const code = 'code' in e ? e.code : undefined;
    if (typeof code === 'string' && code !== 'UND_ERR_ABORTED') return code;
  }
  return undefined;
}

/** An undici or guard error as the failure code a client is shown; the original is the cause. */
function failureOf(err: unknown, host: string, limits: FetchLimits): FetchFailedError {
  if (err instanceof FetchFailedError) return err;
  const refusal = refusalOf(err);
  if (refusal?.code === 'TOO_MANY_REDIRECTS') return new FetchFailedError('URL_TOO_MANY_REDIRECTS', `Expected at most ${limits.maxRedirects} redirects but ${host} made more`, { cause: err });
  if (refusal) return new FetchFailedError('URL_REFUSED', refusal.message, { cause: err });
  const code = codeOf(err);
  if (code && TIMEOUT.has(code)) return new FetchFailedError('URL_TIMEOUT', `Expected ${host} to connect within its limit and send the whole image within ${limits.timeoutMs} ms but it did not`, { cause: err });
  if (code && UNREACHABLE.has(code)) return new FetchFailedError('URL_UNREACHABLE', `Could not reach ${host} (${code})`, { cause: err });
  if (code && RESET.has(code)) return new FetchFailedError('URL_CONNECTION_RESET', `${host} closed the connection mid-answer (${code})`, { cause: err });
  return new FetchFailedError('URL_UNREACHABLE', `Could not download from ${host} (${code ?? 'network error'})`, { cause: err });
}

/** Refuses an answer from its status and headers alone, before any of its body is read. */
function checkAnswer(status: number, headers: IncomingHttpHeaders, host: string, maxBytes: number): void {
  if (status >= 500) throw new FetchFailedError('URL_HTTP_5XX', `${status} from ${host}`);
  if (status >= 400) throw new FetchFailedError('URL_HTTP_4XX', `${status} from ${host}`);
  if (status >= 300) throw new FetchFailedError('URL_NOT_IMAGE', `Expected an image but ${host} answered ${status} without a redirect to follow`);
  if (status < 200) throw new FetchFailedError('URL_NOT_IMAGE', `Expected an image but ${host} answered ${status}`);
  const declared = Number(headers['content-length']);
  if (declared > maxBytes) throw new FetchFailedError('URL_TOO_LARGE', `Expected at most ${maxBytes} bytes but ${host} declares ${declared} (Content-Length)`);
}

/**
 * Downloads an image through the guarded client and checks it the way an upload is checked:
 * at most `maxBytes` (from Content-Length first, then while the body streams), recognised by
 * its magic bytes (never by Content-Type), and within the decode budget its header declares.
 * Holds a download slot and one of its host's, never a Sharp slot.
 */
export async function fetchImage(deps: FetchDeps, url: string): Promise<{ data: Buffer; type: ImageType }> {
  const { limits } = deps;
  let host: string;
  try {
    host = new URL(url).host;
  } catch (err) {
    throw new FetchFailedError('URL_REFUSED', 'Expected an absolute http(s) URL', { cause: err });
  }
  const res = await deps.perHost
    .run(host, () =>
      deps.slots.run(() =>
        deps.client.request(url, {
          method: 'GET',
          headers: { 'user-agent': limits.userAgent, accept: 'image/*' },
          timeoutMs: limits.timeoutMs,
          maxRedirects: limits.maxRedirects,
          maxResponseBytes: limits.maxBytes,
          onResponse: (status, headers) => checkAnswer(status, headers, host, limits.maxBytes),
        }),
      ),
    )
    .catch((err: unknown) => {
      throw failureOf(err, host, limits);
    });
  if (res.truncated) throw new FetchFailedError('URL_TOO_LARGE', `Expected at most ${limits.maxBytes} bytes but ${host} sent more`);
  const type = detectImageType(res.body);
  if (type === undefined || (type === 'svg' && !limits.allowSvg)) {
    throw new FetchFailedError('URL_NOT_IMAGE', `Expected a JPEG, PNG, WebP, GIF, AVIF or TIFF image (checked by content, not by Content-Type) but ${host} sent ${res.body.length === 0 ? 'nothing' : 'something else'}`);
  }
  const problem = pixelLimitProblem(res.body, declaredSizeOf(res.body), limits.maxInputPixels);
  if (problem) throw new FetchFailedError('TOO_MANY_PIXELS', problem);
  return { data: res.body, type };
}
