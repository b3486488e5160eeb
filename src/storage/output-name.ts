import { FILE_EXTENSIONS, type OutputFormat } from '../pipeline';

/** How long a client may keep a result: the same whether the API serves it or the bucket does. */
export const RESULT_CACHE_CONTROL = 'private, max-age=3600';

/** The variant every job has; its output keeps the name outputs had before variants existed. */
export const DEFAULT_VARIANT = 'default';

/**
 * Outputs are named by job id (and variant), so a job that runs again after a crash overwrites
 * its own output instead of leaving a second one behind.
 */
export function outputNameOf(jobId: string, format: OutputFormat, variant: string = DEFAULT_VARIANT): string {
  // No '-' in a variant: with UUID job ids, `${jobId}-${variant}` then names one pair only.
  if (!/^[a-z0-9]+$/.test(variant)) throw new Error(`Expected a variant of a-z and 0-9 but received ${JSON.stringify(variant)}`);
  return variant === DEFAULT_VARIANT ? `${jobId}.${FILE_EXTENSIONS[format]}` : `${jobId}-${variant}.${FILE_EXTENSIONS[format]}`;
}
