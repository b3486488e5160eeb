import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';

/**
 * The calls made once per uploaded file (a presigned PUT or GET, the ranged read that checks a
 * direct upload) with the SDK's own presigner and the client's own HTTP handler, skipping the
 * command stack: a command costs about 2 ms of CPU on this machine (endpoint rules, schema
 * serde, middleware, retries), which alone would be twice the API's whole budget per direct
 * upload. What the stack would decide once, where the bucket lives and which region signs, is
 * learnt once from one presigned URL the SDK makes (path or virtual-hosted style, custom
 * endpoints, FIPS and dual-stack settings alike).
 */

interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number | undefined;
  path: string;
  headers: Record<string, string>;
  query: Record<string, string | string[] | null>;
}

interface HttpHandler {
  handle(request: SignableRequest): Promise<{ response: { statusCode: number; headers: Record<string, string | undefined>; body: Readable } }>;
}

export interface SignedOptions {
  /** Sent with the request and signed: the store refuses another value. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response-header overrides (`response-content-type`…), signed too. */
  readonly query?: Readonly<Record<string, string>>;
  readonly expiresIn: number;
}

/** An object's first bytes and whole size. */
export interface ObjectHead {
  readonly start: Buffer;
  readonly size: number;
}

/** A ranged read's answer that is not the object: its status, for the store's error mapping. */
export class ObjectReadError extends Error {
  constructor(
    readonly status: number,
    key: string,
  ) {
    super(`GET ${key} answered ${status}`);
  }
}

export interface S3SignedRequests {
  /** A URL that performs `method` on `key` until `expiresIn` seconds from now. */
  url(method: 'GET' | 'PUT', key: string, options: SignedOptions): Promise<string>;
  /** The first `bytes` bytes of `key` and its size, in one ranged GET; undefined when there is no such object. */
  readHead(key: string, bytes: number): Promise<ObjectHead | undefined>;
}

const PROBE_KEY = 'imgflow-signing-probe';

// The SDK escapes each path segment as RFC 3986 does; encodeURIComponent leaves !'()* alone.
const escapeKey = (key: string) => key.split('/').map((part) => encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');

interface Template {
  readonly presigner: S3RequestPresigner;
  readonly base: URL;
  /** The path before the key: `/` with virtual-hosted buckets, `/bucket/` with path style. */
  readonly pathBeforeKey: string;
}

async function learnTemplate(client: S3Client, bucket: string): Promise<Template> {
  const probe = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }));
  if (!probe.pathname.endsWith(`/${PROBE_KEY}`)) throw new Error(`Expected a presigned URL ending in the key but the SDK made ${probe.pathname}`);
  // X-Amz-Credential is AKID/date/region/service/aws4_request: the region the SDK signs with.
  const [, , region, service] = (probe.searchParams.get('X-Amz-Credential') ?? '').split('/');
  if (!region || !service) throw new Error('Expected the presigned URL to carry X-Amz-Credential');
  const presigner = new S3RequestPresigner({ ...client.config, signingName: service, region: () => Promise.resolve(region) });
  return { presigner, base: new URL(probe.origin), pathBeforeKey: probe.pathname.slice(0, -PROBE_KEY.length) };
}

export function createS3SignedRequests(client: S3Client, bucket: string): S3SignedRequests {
  let template: Promise<Template> | undefined;
  // Learnt on first use, and again after a failure (no credentials yet, a bad endpoint).
  const learnt = () => (template ??= learnTemplate(client, bucket).catch((err: unknown) => {
    template = undefined;
    throw err;
  }));
  const handler = client.config.requestHandler as unknown as HttpHandler;

  async function presign(method: string, key: string, options: SignedOptions): Promise<SignableRequest> {
    const { presigner, base, pathBeforeKey } = await learnt();
    const request: SignableRequest = {
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port ? Number(base.port) : undefined,
      path: pathBeforeKey + escapeKey(key),
      headers: { host: base.host, ...options.headers },
      query: { ...options.query },
    };
    const signableHeaders = new Set(Object.keys(options.headers ?? {}).map((h) => h.toLowerCase()));
    const signed = (await presigner.presign(request, { expiresIn: options.expiresIn, signableHeaders })) as SignableRequest;
    return { ...signed, headers: { ...signed.headers } };
  }

  return {
    async url(method, key, options) {
      const signed = await presign(method, key, options);
      const url = new URL(signed.path, `${signed.protocol}//${signed.hostname}${signed.port ? `:${signed.port}` : ''}`);
      for (const [name, value] of Object.entries(signed.query)) {
        for (const one of Array.isArray(value) ? value : [value ?? '']) url.searchParams.append(name, one);
      }
      return url.toString();
    },
    async readHead(key, bytes) {
      const signed = await presign('GET', key, { expiresIn: 60 });
      // The range is not signed: it is a request detail, like the connection's own headers.
      signed.headers.range = `bytes=0-${bytes - 1}`;
      const { response } = await handler.handle(signed);
      const { statusCode, headers, body } = response;
      if (statusCode === 404) return drained(body, undefined);
      // No byte 0 to serve: S3 answers 416 to any range of an empty object.
      if (statusCode === 416) return drained(body, { start: Buffer.alloc(0), size: 0 });
      if (statusCode !== 200 && statusCode !== 206) return drained(body, Promise.reject(new ObjectReadError(statusCode, key)));
      // 206: `bytes 0-65535/2490000`; 200 (a store that ignores ranges): the whole length.
      const size = statusCode === 206 ? Number(/\/(\d+)$/.exec(headers['content-range'] ?? '')?.[1]) : Number(headers['content-length']);
      if (!Number.isSafeInteger(size)) return drained(body, Promise.reject(new Error(`GET ${key} answered ${statusCode} without a usable size`)));
      return { start: await readUpTo(body, bytes, statusCode === 200), size };
    },
  };
}

/** Discards an answer's body, so its connection goes back to the pool, then settles as `value`. */
async function drained<T>(body: Readable, value: T | Promise<T>): Promise<T> {
  body.resume();
  return value;
}

/** Reads the body to its end (which keeps the connection), or stops once there is enough of `whole`: a store that ignored the range. */
async function readUpTo(body: Readable, bytes: number, whole: boolean): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (whole && length >= bytes) break;
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}
