import type { UploadLimits } from './check-files.js';

/** The shapes of the public API this page reads (see /openapi.json), only the fields it uses. */
export interface VariantResult {
  readonly name: string;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly size: number;
}
export type FileState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'unknown';
export interface FileStatus {
  readonly jobId: string;
  readonly originalName: string;
  readonly state: FileState;
  readonly progress: number;
  readonly result: { readonly variants: readonly VariantResult[] } | null;
  readonly failedReason: string | null;
  readonly attemptsMade: number;
}
export interface BatchStatus {
  readonly batchId: string;
  readonly status: 'scheduled' | 'waiting' | 'processing' | 'completed' | 'completed-with-errors' | 'failed';
  readonly progress: { readonly total: number; readonly completed: number; readonly failed: number; readonly active: number; readonly waiting: number };
  readonly files: readonly FileStatus[];
}
export interface BatchAccepted {
  readonly batchId: string;
  readonly jobs: readonly { readonly jobId: string; readonly originalName: string }[];
}
export type Presets = Readonly<Record<string, { readonly format: string; readonly width?: number; readonly height?: number }>>;

/** A refusal: the problem+json `code` and `detail`, or NETWORK when no answer came. */
export class ApiProblem extends Error {
  override name = 'ApiProblem';
  constructor(
    readonly code: string,
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

async function answer<T>(res: Response): Promise<T> {
  if (res.ok) return (await res.json()) as T;
  const body: unknown = await res.json().catch(() => ({}));
  const problem = typeof body === 'object' && body !== null ? (body as { code?: unknown; detail?: unknown }) : {};
  throw new ApiProblem(typeof problem.code === 'string' ? problem.code : 'INTERNAL_ERROR', res.status, typeof problem.detail === 'string' ? problem.detail : res.statusText);
}

async function send<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { Accept: 'application/json' } });
  } catch (err) {
    throw new ApiProblem('NETWORK', 0, err instanceof Error ? err.message : 'no answer');
  }
  return answer<T>(res);
}

export const getLimits = () => send<UploadLimits>('/limits');
export const getPresets = () => send<Presets>('/presets');
export const getBatch = (batchId: string) => send<BatchStatus>(`/batches/${encodeURIComponent(batchId)}`);
export const uploadImages = (form: FormData) => send<BatchAccepted>('/process-images', { method: 'POST', body: form });

/**
 * Where a variant of a finished file is served. Through the API even when files live in a bucket
 * (proxy=true): the page's Content-Security-Policy lets images come from its own origin only.
 */
export const resultUrl = (jobId: string, variant: string) => `/jobs/${encodeURIComponent(jobId)}/result?variant=${encodeURIComponent(variant)}&proxy=true`;

export const FINISHED: ReadonlySet<BatchStatus['status']> = new Set(['completed', 'completed-with-errors', 'failed']);
