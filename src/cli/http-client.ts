import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { BatchAccepted, BatchStatus, DeadLetterList, Limits, Problem, RetryAccepted } from './api-types';
import { ApiProblemError, ServerUnreachableError } from './errors';

/** Where the server is and what to authenticate with. */
export interface ServerAccess {
  readonly server: URL;
  /** Sent as `X-API-Key` and `Authorization: Bearer`; on operator routes Authorization carries the admin token instead. */
  readonly apiKey?: string | undefined;
  /** For the operator routes (dead letters): `Authorization: Bearer <ADMIN_TOKEN>`. */
  readonly adminToken?: string | undefined;
}

/** One image file to send, already checked by content. */
export interface OutgoingFile {
  readonly path: string;
  readonly size: number;
  readonly mimeType: string;
}

/** A downloaded result: the server's file name for it (Content-Disposition) and its bytes. */
export interface DownloadedResult {
  readonly fileName: string;
  readonly body: AsyncIterable<Uint8Array>;
}

// Requests other than uploads and downloads are small; a server that takes longer is not answering.
const ANSWER_TIMEOUT_MS = 30_000;

export type ApiClient = ReturnType<typeof createApiClient>;

/** The public HTTP API as functions: every answer checked, every failure an ApiProblemError or ServerUnreachableError. */
export function createApiClient(access: ServerAccess) {
  const urlOf = (route: string) => new URL(route, access.server).toString();
  const headers = (admin = false): Record<string, string> => ({
    ...(access.apiKey ? { 'X-API-Key': access.apiKey, Authorization: `Bearer ${access.apiKey}` } : {}),
    ...(admin && access.adminToken ? { Authorization: `Bearer ${access.adminToken}` } : {}),
  });

  async function send(route: string, init: RequestInit & { admin?: boolean; timeout?: boolean } = {}): Promise<Response> {
    const { admin, timeout = true, ...rest } = init;
    let response: Response;
    try {
      response = await fetch(urlOf(route), {
        ...rest,
        headers: { ...headers(admin), ...(rest.headers as Record<string, string> | undefined) },
        ...(timeout ? { signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS) } : {}),
      });
    } catch (err) {
      throw new ServerUnreachableError(`Could not reach ${access.server.origin} (${describeNetworkError(err)})`, { cause: err });
    }
    if (!response.ok) throw await problemOf(response, route);
    return response;
  }

  async function read<T extends z.ZodType>(schema: T, route: string, init?: Parameters<typeof send>[1]): Promise<z.infer<T>> {
    const response = await send(route, init);
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new ServerUnreachableError(`${access.server.origin} answered ${route} with something that is not imgflow's API (${parsed.error.issues[0]?.message ?? 'unexpected body'})`);
    return parsed.data;
  }

  return {
    server: access.server,
    limits: () => read(Limits, '/limits'),
    batch: (batchId: string) => read(BatchStatus, `/batches/${encodeURIComponent(batchId)}`),
    /** POST /process-images with `files` and the text fields; `onBytes` hears of every chunk of file data sent. */
    uploadImages(files: readonly OutgoingFile[], fields: Readonly<Record<string, string>>, onBytes: (n: number) => void) {
      const form = multipartBody(files, fields, onBytes);
      return read(BatchAccepted, '/process-images', {
        method: 'POST',
        // An Idempotency-Key makes the upload safe to send again by hand after a lost answer.
        // Imgflow-File-Count: a server with a queued-files quota can refuse the request before its body is sent.
        headers: { 'Content-Type': `multipart/form-data; boundary=${form.boundary}`, 'Content-Length': String(form.length), 'Idempotency-Key': randomUUID(), 'Imgflow-File-Count': String(files.length) },
        body: form.body,
        duplex: 'half',
        timeout: false,
      });
    },
    /** POST /process-urls with a JSON list of URLs. */
    processUrlList: (urls: readonly string[], fields: Readonly<Record<string, unknown>>) =>
      read(BatchAccepted, '/process-urls', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...fields, urls }) }),
    /** POST /process-urls with a CSV file in the `file` field. */
    processUrlCsv(csvPath: string, size: number, fields: Readonly<Record<string, string>>) {
      const form = multipartBody([{ path: csvPath, size, mimeType: 'text/csv' }], fields, () => undefined, 'file');
      return read(BatchAccepted, '/process-urls', {
        method: 'POST',
        headers: { 'Content-Type': `multipart/form-data; boundary=${form.boundary}`, 'Content-Length': String(form.length) },
        body: form.body,
        duplex: 'half',
      });
    },
    async download(jobId: string, variant: string): Promise<DownloadedResult> {
      const response = await send(`/jobs/${encodeURIComponent(jobId)}/result?variant=${encodeURIComponent(variant)}`, { timeout: false });
      if (!response.body) throw new ServerUnreachableError(`${access.server.origin} sent no body for ${jobId}'s ${variant}`);
      return { fileName: fileNameOf(response.headers.get('content-disposition')) ?? `${jobId}-${variant}`, body: response.body };
    },
    deadLetters: (offset: number, limit: number) => read(DeadLetterList, `/dead-letters?offset=${offset}&limit=${limit}`, { admin: true }),
    retryDeadLetter: (id: string) => read(RetryAccepted, `/dead-letters/${encodeURIComponent(id)}/retry`, { method: 'POST', admin: true }),
    /** The URL and the fetch (with this client's headers) an EventSource needs for a batch's live events. */
    eventStream: (batchId: string) => ({
      url: urlOf(`/batches/${encodeURIComponent(batchId)}/events`),
      fetch: (input: string | URL, init: { headers?: Record<string, string> } & Omit<RequestInit, 'headers'>) => fetch(input, { ...init, headers: { ...init.headers, ...headers() } }),
    }),
  };
}

async function problemOf(response: Response, route: string): Promise<ApiProblemError> {
  const body: unknown = await response.json().catch(() => undefined);
  const problem = Problem.safeParse(body);
  if (problem.success) return new ApiProblemError(problem.data.status, problem.data.code, problem.data.detail, route);
  return new ApiProblemError(response.status, `HTTP_${response.status}`, response.statusText || 'no problem details in the answer', route);
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error ? err.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string') return cause.code;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The file name from `filename*=UTF-8''…` or `filename="…"`, reduced to a plain name that cannot leave the output folder. */
export function fileNameOf(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const extended = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="([^"]*)"/i.exec(disposition)?.[1];
  let name: string | undefined;
  try {
    name = extended ? decodeURIComponent(extended) : plain;
  } catch {
    name = plain;
  }
  const safe = path.basename((name ?? '').replace(/[\u0000-\u001f\\/]/g, '_'));
  return safe === '' || safe === '.' || safe === '..' ? undefined : safe;
}

/**
 * A multipart/form-data body streamed from disk, with its exact length known up front so the
 * server can refuse an oversized request from its Content-Length before any byte is sent.
 */
function multipartBody(files: readonly OutgoingFile[], fields: Readonly<Record<string, string>>, onBytes: (n: number) => void, fileField = 'images') {
  const boundary = `imgflow-${randomUUID()}`;
  const quote = (s: string) => s.replace(/[\r\n"]/g, (c) => encodeURIComponent(c));
  const fieldParts = Object.entries(fields).map(([name, value]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`));
  const fileHeads = files.map((f) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${fileField}"; filename="${quote(path.basename(f.path))}"\r\nContent-Type: ${f.mimeType}\r\n\r\n`));
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const length = [...fieldParts, ...fileHeads, tail].reduce((n, b) => n + b.length, 0) + files.reduce((n, f) => n + f.size + 2, 0);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield* fieldParts;
    for (const [i, file] of files.entries()) {
      yield fileHeads[i] as Buffer;
      for await (const chunk of createReadStream(file.path) as AsyncIterable<Buffer>) {
        onBytes(chunk.length);
        yield chunk;
      }
      yield Buffer.from('\r\n');
    }
    yield tail;
  }
  return { boundary, length, body: body() };
}
