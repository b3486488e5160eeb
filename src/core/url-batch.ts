import { randomUUID } from 'node:crypto';
import { checkOutboundUrl, OutboundRefusedError } from '../net';
import type { BatchEntry } from '../queue/enqueue-batch';
import { MAX_URL_LENGTH } from '../queue/jobs';
import { AppError } from './errors';
import type { UrlEntry } from './url-list';

/** Bad entries named in one INVALID_URLS detail; the count says how many more there were. */
const LISTED = 50;

/**
 * Refuses a list of URLs unless every entry is one the guard would try: an absolute http(s)
 * URL of at most 2048 characters, without credentials, whose host is not a literal address the
 * guard refuses. No connection and no DNS lookup: names are checked when the worker connects.
 * Returns each entry's normalised URL.
 */
export function checkUrlEntries(entries: readonly UrlEntry[], policy: { maxUrls: number; allowPrivate: boolean }): string[] {
  if (entries.length === 0) throw new AppError('NO_URLS', 'Expected at least one URL');
  if (entries.length > policy.maxUrls) throw new AppError('TOO_MANY_URLS', `Expected at most ${policy.maxUrls} URLs but received ${entries.length}`);
  const urls: string[] = [];
  const bad: string[] = [];
  for (const entry of entries) {
    try {
      if (entry.url === '') throw new OutboundRefusedError('BAD_URL', 'Expected a URL but the cell is empty');
      if (entry.url.length > MAX_URL_LENGTH) throw new OutboundRefusedError('BAD_URL', `Expected a URL of at most ${MAX_URL_LENGTH} characters but it has ${entry.url.length}`);
      urls.push(checkOutboundUrl(entry.url, { allowPrivate: policy.allowPrivate }).href);
    } catch (err) {
      if (!(err instanceof OutboundRefusedError)) throw err;
      bad.push(`${entry.at}: ${err.code} ${err.message}`);
    }
  }
  if (bad.length) {
    const more = bad.length > LISTED ? `; and ${bad.length - LISTED} more` : '';
    throw new AppError('INVALID_URLS', `${bad.length} of ${entries.length} URLs refused, nothing queued: ${bad.slice(0, LISTED).join('; ')}${more}`);
  }
  return urls;
}

/** The batch's jobs for checked URLs: one job each, named by a fresh id (there is no stored file to name it after). */
export function urlBatchEntries(entries: readonly UrlEntry[], urls: readonly string[]): BatchEntry[] {
  return entries.map((entry, i) => {
    const url = urls[i] ?? entry.url;
    const jobId = randomUUID();
    const source = { ...(entry.line === undefined ? {} : { line: entry.line }), ...(entry.row === undefined ? {} : { row: entry.row.map(([k, v]): [string, string] => [k, v]) }) };
    return { jobId, file: { jobId, originalName: url, ...source }, input: { source: 'url', url, originalName: url } };
  });
}
