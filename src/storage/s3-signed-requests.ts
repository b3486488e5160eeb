import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { FileHead } from './file-store';

/**
 * The calls made once per uploaded file (a presigned PUT or GET, the ranged read that checks a
 * direct upload) with the SDK's own presigner, skipping the command stack: a command costs
 * about 2 ms of CPU on this machine (endpoint rules, schema serde, middleware, retries), twice
 * the API's whole budget per direct upload, and the SDK's HTTP handler another 0.4 ms (its
 * timers) over node:http's 0.6 ms for the GET itself. What the stack would decide once (where
 * the bucket lives, which region signs) is learnt once from one presigned URL the SDK makes:
 * path or virtual-hosted style, custom endpoints, FIPS and dual-stack settings alike.
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

export interface SignedOptions {
  /** Sent with the request and signed: the store refuses another value. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response-header overrides (`response-content-type`…), signed too. */
  readonly query?: Readonly<Record<string, string>>;
  readonly expiresIn: number;
}

/** A ranged read's answer that is not the object: its status, for the store's error mapping. */
export class ObjectReadError extends Error {
  constructor(
    readonly status: number,
    key: string,
    /** S3's error code, as the SDK names its errors (NoSuchBucket…). */
    code?: string,
  ) {
    super(`GET ${key} answered ${status}${code ? ` ${code}` : ''}`);
    this.name = code ?? 'ObjectReadError';
  }
}

export interface S3SignedRequests {
  /** A URL that performs `method` on `key` until `expiresIn` seconds from now. */
  url(method: 'GET' | 'PUT', key: string, options: SignedOptions): Promise<string>;
  /** The first `bytes` bytes of `key` and its size, in one ranged GET; undefined when there is no such object. */
  readHead(key: string, bytes: number): Promise<FileHead | undefined>;
  /** Closes the kept-alive connections of the ranged reads. */
  destroy(): void;
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
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

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
    return (await presigner.presign(request, { expiresIn: options.expiresIn, signableHeaders })) as SignableRequest;
  }

  async function url(method: string, key: string, options: SignedOptions): Promise<URL> {
    const signed = await presign(method, key, options);
    const url = new URL(signed.path, `${signed.protocol}//${signed.hostname}${signed.port ? `:${signed.port}` : ''}`);
    for (const [name, value] of Object.entries(signed.query)) {
      for (const one of Array.isArray(value) ? value : [value ?? '']) url.searchParams.append(name, one);
    }
    return url;
  }

  return {
    destroy: () => Object.values(agents).forEach((agent) => agent.destroy()),
    url: async (method, key, options) => (await url(method, key, options)).toString(),
    async readHead(key, bytes) {
      const target = await url('GET', key, { expiresIn: 60 });
      // The range is not signed: the signature covers the object, any part of it may be read.
      const body = await get(target, agents, { range: `bytes=0-${bytes - 1}` });
      const { statusCode = 0, headers } = body;
      if (statusCode === 404) {
        // A missing bucket is the store's fault, not a file not uploaded yet.
        const code = /<Code>([^<]+)<\/Code>/.exec((await readUpTo(body, 4096, true)).toString())?.[1];
        if (code === 'NoSuchBucket') throw new ObjectReadError(statusCode, key, code);
        return undefined;
      }
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

/** The answer's head; a connection that stays silent for READ_TIMEOUT_MS fails it, as an unreachable bucket. */
function get(target: URL, agents: Record<'http:' | 'https:', http.Agent>, headers: Record<string, string>): Promise<IncomingMessage> {
  const agent = agents[target.protocol as 'http:' | 'https:'];
  if (!agent) return Promise.reject(new Error(`Expected an http: or https: endpoint but the bucket is at ${target.origin}`));
  const once = (retry: boolean) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const request = (target.protocol === 'https:' ? https : http).get(target, { agent, headers, timeout: READ_TIMEOUT_MS }, resolve);
      request.once('timeout', () => request.destroy(new Error(`GET ${target.pathname}: no answer within ${READ_TIMEOUT_MS} ms`)));
      request.once('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the store closed as it was reused: Node's advice is to retry once.
        if (retry && request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) resolve(once(false));
        else reject(err);
      });
    });
  return once(true);
}

const READ_TIMEOUT_MS = 10_000;

/** Discards an answer's body, so its connection goes back to the pool, then settles as `value`. */
async function drained<T>(body: IncomingMessage, value: T | Promise<T>): Promise<T> {
  body.resume();
  return value;
}

/** Reads the body to its end (which keeps the connection), or stops once there is enough of `whole`: a store that ignored the range. */
function readUpTo(body: IncomingMessage, bytes: number, whole: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = () => resolve(Buffer.concat(chunks).subarray(0, bytes));
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (whole && length >= bytes) {
        body.destroy();
        done();
      }
    });
    body.once('end', done);
    body.once('error', reject);
  });
}
