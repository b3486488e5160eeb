import { readdirSync } from 'node:fs';

export interface UploadFile {
  readonly name: string;
  readonly data: Buffer;
}

/** POSTs files as multipart/form-data over real HTTP; resolves with status and parsed body. */
export async function postImages(baseUrl: string, files: readonly UploadFile[], options: { field?: string; path?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: any; ms: number }> {
  const form = new FormData();
  for (const f of files) form.append(options.field ?? 'images', new Blob([new Uint8Array(f.data)]), f.name);
  const started = performance.now();
  const res = await fetch(`${baseUrl}${options.path ?? '/process-images'}`, { method: 'POST', body: form, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() };
}

/** Files in a directory, ignoring dotfiles. */
export function filesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => !f.startsWith('.'));
}
