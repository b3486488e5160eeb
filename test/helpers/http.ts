import { readdirSync } from 'node:fs';
import type { z } from 'zod';
import { BatchAccepted, Problem } from '../../src/api/schemas';

export interface UploadFile {
  readonly name: string;
  readonly data: Buffer;
}

/**
 * A response, its body parsed with the API's own schema: the documented one on success, a
 * problem otherwise. A body that does not match its schema fails the test right here.
 */
export interface Reply<T> {
  readonly status: number;
  readonly ms: number;
  readonly body: T | undefined;
  readonly problem: z.infer<typeof Problem> | undefined;
}

async function parseReply<T>(res: Response, schema: z.ZodType<T>, started: number): Promise<Reply<T>> {
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  const ms = performance.now() - started;
  return res.ok
    ? { status: res.status, ms, body: schema.parse(json), problem: undefined }
    : { status: res.status, ms, body: undefined, problem: Problem.parse(json) };
}

/** The body of a successful reply; a failed one fails the test with its problem. */
export function bodyOf<T>(reply: Reply<T>): T {
  if (reply.body === undefined) throw new Error(`Expected a 2xx reply but got ${reply.status}: ${JSON.stringify(reply.problem)}`);
  return reply.body;
}

/** POSTs files as multipart/form-data over real HTTP. */
export async function postImages(baseUrl: string, files: readonly UploadFile[], options: { field?: string; path?: string; timeoutMs?: number } = {}): Promise<Reply<BatchAccepted>> {
  const form = new FormData();
  for (const f of files) form.append(options.field ?? 'images', new Blob([new Uint8Array(f.data)]), f.name);
  const started = performance.now();
  const res = await fetch(`${baseUrl}${options.path ?? '/process-images'}`, { method: 'POST', body: form, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  return parseReply(res, BatchAccepted, started);
}

/** GETs a JSON route over real HTTP. */
export async function getJson<T>(url: string, schema: z.ZodType<T>): Promise<Reply<T>> {
  const started = performance.now();
  return parseReply(await fetch(url, { signal: AbortSignal.timeout(10_000) }), schema, started);
}

/** Files in a directory, ignoring dotfiles. */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => !f.startsWith('.'));
}
