import type { BatchStatusView } from '../queue/job-status';

/** RFC 4180: a field with a quote, comma or line break is quoted, its quotes doubled. */
const field = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

/**
 * A batch as CSV, one line per file in input order: the CSV line its row came from (for a CSV
 * batch), its URL (or file name), the row's other columns, its state and failure reason, and one
 * column per variant with the link to that output (`resultUrl(jobId, variant)`).
 */
export function batchResultsCsv(batch: BatchStatusView, resultUrl: (jobId: string, variant: string) => string): string {
  const fromCsv = batch.files.some((f) => f.line !== undefined);
  const columns: string[] = [];
  const variants: string[] = [];
  for (const file of batch.files) {
    for (const [name] of file.row ?? []) if (!columns.includes(name)) columns.push(name);
    for (const { name } of file.result?.variants ?? []) if (!variants.includes(name)) variants.push(name);
  }
  const header = [...(fromCsv ? ['line'] : []), 'url', ...columns, 'state', 'failed_reason', ...variants.map((v) => `output_${v}`)];
  const lines = batch.files.map((file) => {
    const row = new Map(file.row ?? []);
    const outputs = new Set((file.result?.variants ?? []).map((v) => v.name));
    return [
      ...(fromCsv ? [file.line === undefined ? '' : String(file.line)] : []),
      file.originalName,
      ...columns.map((c) => row.get(c) ?? ''),
      file.state,
      file.failedReason ?? '',
      ...variants.map((v) => (outputs.has(v) ? resultUrl(file.jobId, v) : '')),
    ];
  });
  return [header, ...lines].map((cells) => cells.map(field).join(',')).join('\r\n') + '\r\n';
}
