import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FileStore } from './file-store';
import { createS3SignedRequests, ObjectReadError, type S3SignedRequests } from './s3-signed-requests';
import { StorageUnavailableError } from './storage-unavailable';

export interface S3Settings {
  readonly endpoint?: string | undefined;
  readonly region: string;
  readonly bucket: string;
  /** Put before every key, e.g. `imgflow/`; the stores add `uploads/` and `processed/`. */
  readonly prefix: string;
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly forcePathStyle: boolean;
  readonly urlTtlSeconds: number;
}

/** How long /readyz waits for HeadBucket; Redis's check is bounded by the producer's 2 s command timeout. */
const PROBE_TIMEOUT_MS = 3000;

/** Retention counts an object's age from this, when keepFrom set it (an object's LastModified cannot be set). */
const KEEP_FROM = 'keep-from';

export function createS3Client(settings: S3Settings): S3Client {
  const { accessKeyId, secretAccessKey } = settings;
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    // Without credentials the SDK's default chain applies (environment, profile, instance role).
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    // The SDK's default checksums send bodies aws-chunked; stores that do not speak it (s3rver,
    // older MinIO and Ceph) then keep the framing inside the object.
    // Resolves each command's middleware once, not on every call: nothing here changes a stack after the first call.
    cacheMiddleware: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // An unreachable endpoint should fail an upload in seconds (503), not hang it.
    requestHandler: { connectionTimeout: 5000, requestTimeout: 60_000 },
  });
}

function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ObjectReadError) return err.status;
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta: unknown = err.$metadata;
  return typeof meta === 'object' && meta !== null && 'httpStatusCode' in meta && typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

const isMissingObject = (err: unknown) => {
  const name = typeof err === 'object' && err !== null && 'name' in err ? err.name : undefined;
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatusOf(err) === 404 && name !== 'NoSuchBucket');
};

/** A missing object as the local store reports a missing file. */
const noSuchObject = (what: string, cause?: unknown) => Object.assign(new Error(`${what}: no such object`, { cause }), { code: 'ENOENT' });

/** A missing object as ENOENT; anything else the store's fault. */
function storageError(err: unknown, what: string): Error {
  if (isMissingObject(err)) return noSuchObject(what, err);
  const status = httpStatusOf(err);
  return new StorageUnavailableError(`${what}: ${status ? `the bucket answered ${status}` : 'the bucket is unreachable'}`, { cause: err });
}

/** Runs one call to the bucket, reporting its failure in the store's terms. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageError(err, what);
  }
}

/** A FileStore over keys `${keyPrefix}${name}` in one bucket. */
/** `signed`: the bucket's signed requests, shared by its stores (one learning of the bucket's URL, one pool); made here when absent. */
export function createS3FileStore(client: S3Client, options: { readonly bucket: string; readonly keyPrefix: string; readonly urlTtlSeconds: number; readonly signed?: S3SignedRequests }): FileStore {
  const { bucket: Bucket, keyPrefix, urlTtlSeconds } = options;
  const signed = options.signed ?? createS3SignedRequests(client, Bucket);
  const keyOf = (name: string) => {
    if (name === '' || name.includes('/') || name.startsWith('.')) throw new Error(`Expected a plain file name but received ${JSON.stringify(name)}`);
    return `${keyPrefix}${name}`;
  };
  const get = (name: string) =>
    call(`get ${name}`, async () => {
      const { Body } = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(name) }));
      if (!(Body instanceof Readable)) throw new Error('Expected a Node stream as the object body');
      return Body;
    });
  const readAll = async (body: Readable) => {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  const store: FileStore = {
    signedUrlTtlSeconds: urlTtlSeconds,
    read: async (name) => readAll(await get(name)),
    readHead: (name, bytes) => call(`read ${name}`, () => signed.readHead(keyOf(name), bytes)),
    async readStart(name, bytes) {
      const head = await store.readHead(name, bytes);
      if (!head) throw noSuchObject(`read ${name}`);
      return head.start;
    },
    async write(name, data, meta = {}) {
      const params = { Bucket, Key: keyOf(name), ContentType: meta.contentType, CacheControl: meta.cacheControl };
      if (Buffer.isBuffer(data)) {
        await call(`put ${name}`, () => client.send(new PutObjectCommand({ ...params, Body: data, ContentLength: data.length })));
        return;
      }
      // The source's own failure (a sniffer refusing the bytes, a client cut off) is reported as
      // it is; the upload then aborts, and S3 keeps no object from a PUT it did not complete.
      let sourceError: unknown;
      data.once('error', (err) => (sourceError ??= err));
      try {
        // One part in memory at a time: 5 MB, S3's smallest, per upload whatever the file's size
        // (a file under 5 MB is held whole, then sent with one PUT: S3 needs a PUT's length first).
        await new Upload({ client, params: { ...params, Body: data }, queueSize: 1, leavePartsOnError: false }).done();
      } catch (err) {
        throw sourceError ?? storageError(err, `put ${name}`);
      }
    },
    // Streamed in parts (lib-storage): a resumable upload can be larger than memory.
    importFile: (name, localPath) => store.write(name, createReadStream(localPath)),
    open: (name) => get(name),
    async stat(name) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(name) }));
        const keptFrom = Number(head.Metadata?.[KEEP_FROM] ?? 0);
        return { size: head.ContentLength ?? 0, modifiedMs: Math.max(head.LastModified?.getTime() ?? 0, keptFrom) };
      } catch (err) {
        if (isMissingObject(err)) return undefined;
        throw storageError(err, `stat ${name}`);
      }
    },
    async *list() {
      let ContinuationToken: string | undefined;
      do {
        const page = await call('list', () => client.send(new ListObjectsV2Command({ Bucket, Prefix: keyPrefix, ContinuationToken })));
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(keyPrefix.length);
          if (!name || name.includes('/')) continue;
          yield { name, size: object.Size ?? 0, modifiedMs: object.LastModified?.getTime() ?? 0 };
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },
    remove: (name) => call(`delete ${name}`, () => client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(name) }))).then(() => undefined),
    keepFrom: (name, ms) =>
      call(`keep ${name}`, () =>
        client.send(new CopyObjectCommand({ Bucket, Key: keyOf(name), CopySource: `${Bucket}/${keyOf(name).split('/').map(encodeURIComponent).join('/')}`, MetadataDirective: 'REPLACE', Metadata: { [KEEP_FROM]: String(Math.round(ms)) } })),
      ).then(() => undefined),
    // Bounded: a bucket that accepts connections but does not answer would hold /readyz for the
    // SDK's request timeout on each of its attempts (minutes), past any probe's own timeout.
    probe: () => call('head bucket', () => client.send(new HeadBucketCommand({ Bucket }), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })).then(() => undefined),
    signGet: (name, response) =>
      signed.url('GET', keyOf(name), { query: { 'response-content-type': response.contentType, 'response-content-disposition': response.contentDisposition }, expiresIn: urlTtlSeconds }),
    async signPut(name, file) {
      // Signed, so the store itself refuses a PUT of another type or size (S3 and MinIO check; s3rver does not).
      const url = await signed.url('PUT', keyOf(name), { headers: { 'content-type': file.contentType, 'content-length': String(file.size) }, expiresIn: urlTtlSeconds });
      return { url, headers: { 'Content-Type': file.contentType } };
    },
  };
  return store;
}
