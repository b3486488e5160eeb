import { CsvError, parse } from 'csv-parse/sync';
import { AppError } from './errors';

/** One URL to fetch, and where the client wrote it: for error messages, the batch's files and results.csv. */
export interface UrlEntry {
  readonly url: string;
  /** `urls[3]` for a JSON list, `line 4` for a CSV file. */
  readonly at: string;
  /** CSV only: the line the row starts on, and the row's other columns in order. */
  readonly line?: number;
  readonly row?: readonly (readonly [string, string])[];
}

/** A JSON body's list, each entry named by its index. */
export function urlsFromList(urls: readonly string[]): UrlEntry[] {
  return urls.map((url, i) => ({ url: url.trim(), at: `urls[${i}]` }));
}

// Header names of the URL column, compared without case, spaces, '_' or '-'.
const URL_COLUMN_NAMES = new Set(['url', 'urls', 'imageurl', 'imageurls', 'inputimageurls']);
const normalName = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, '');
const looksLikeUrl = (cell: string) => cell.includes('://');
// A comma starts the next URL of a cell when a scheme or a space follows it; a comma inside a
// URL (a query such as ?w=1,2) has neither, and stays.
const NEXT_URL = /,(?=\s|[a-z][a-z0-9+.-]*:)/i;
/** Longest CSV record: far above any row of product data, far below the file's own limit. */
const MAX_RECORD_BYTES = 64 * 1024;

interface Row {
  readonly cells: string[];
  readonly line: number;
}

/** Line numbers from byte offsets: csv-parse's own `info.lines` counts a CRLF inside quotes twice. */
function lineCounter(data: Buffer): (offset: number) => number {
  let at = 0;
  let line = 1;
  return (offset) => {
    for (; at < offset; at++) {
      const byte = data[at];
      if (byte === 0x0a || (byte === 0x0d && data[at + 1] !== 0x0a)) line++;
    }
    return line;
  };
}

type RecordWithInfo = { record: string[]; info: { bytes: number } };

/** csv-parse's types promise string[][] whatever the options; with `info: true` it returns { record, info }. */
function isRecordWithInfo(value: unknown): value is RecordWithInfo {
  if (typeof value !== 'object' || value === null || !('record' in value) || !('info' in value)) return false;
  const { record, info } = value;
  return Array.isArray(record) && typeof info === 'object' && info !== null && 'bytes' in info && typeof info.bytes === 'number';
}

const breaksIn = (text: string) => text.match(/\r\n|\r|\n/g)?.length ?? 0;

/** The records of a CSV file with the line each starts on; refuses what is not UTF-8 CSV. */
function readRows(data: Buffer, maxRows: number): Row[] {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new AppError('MALFORMED_CSV', 'Expected a UTF-8 CSV file but it holds bytes that are not UTF-8 (save it as "CSV UTF-8")');
  }
  let records: unknown[];
  try {
    records = parse(data, {
      bom: true,
      info: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      max_record_size: MAX_RECORD_BYTES,
      // Enough to tell "too many": every data row holds at least one URL.
      to: maxRows,
    });
  } catch (err) {
    if (err instanceof CsvError) {
      const line = 'lines' in err && typeof err.lines === 'number' ? `line ${err.lines}: ` : '';
      throw new AppError('MALFORMED_CSV', `${line}${err.message}`, { cause: err });
    }
    throw err;
  }
  const lineAt = lineCounter(data);
  return records.filter(isRecordWithInfo).map(({ record, info }) => {
    // info.bytes is the offset past the record and its line break; the row starts as many lines above its end as its fields hold breaks.
    let end = info.bytes;
    if (data[end - 1] === 0x0a) end--;
    if (data[end - 1] === 0x0d) end--;
    const endLine = lineAt(end);
    return { cells: record, line: endLine - record.reduce((n, cell) => n + breaksIn(cell), 0) };
  });
}

/**
 * The URLs of a CSV file (UTF-8 with or without BOM, CRLF or LF, quoted fields). The first
 * row is a header if a cell names a URL column, or if none of its cells looks like a URL while
 * a later row's do. The URL column is the one named `url`, `urls`, `image_url`, `image urls` or
 * `input image urls` (case, spaces, `_` and `-` ignored), else the first; a cell may hold
 * several URLs separated by commas. The row's other columns travel with each of its URLs.
 */
export function urlsFromCsv(data: Buffer, maxUrls: number): UrlEntry[] {
  const rows = readRows(data, maxUrls + 2);
  const [first, ...rest] = rows;
  if (!first) throw new AppError('EMPTY_CSV', 'Expected a CSV file with at least one row of URLs but it has none');
  const named = first.cells.findIndex((cell) => URL_COLUMN_NAMES.has(normalName(cell)));
  const isHeader = named >= 0 || (!first.cells.some(looksLikeUrl) && rest.some((r) => r.cells.some(looksLikeUrl)));
  const body = isHeader ? rest : rows;
  if (body.length === 0) throw new AppError('EMPTY_CSV', `Expected rows of URLs under the header (${first.cells.join(', ')}) but there are none`);
  const column = Math.max(named, 0);
  // Nothing named like a URL column and nothing like a URL in the first: a file of something else, not a list of bad URLs.
  if (named < 0 && !body.some((r) => looksLikeUrl(r.cells[0] ?? ''))) {
    throw new AppError('NO_URL_COLUMN', `Expected a column named url, urls, image_url, image urls or input image urls, or URLs in the first column; the header has ${first.cells.join(', ')}`);
  }
  const width = Math.max(...rows.map((r) => r.cells.length));
  const names = Array.from({ length: width }, (_, i) => (isHeader ? first.cells[i] : undefined) || `column_${i + 1}`);

  const entries = body.flatMap(({ cells, line }) => {
    const row = cells.flatMap((value, i) => (i === column ? [] : [[names[i] ?? `column_${i + 1}`, value] as const]));
    const urls = (cells[column] ?? '').split(NEXT_URL).map((url) => url.trim()).filter(Boolean);
    return (urls.length ? urls : ['']).map((url): UrlEntry => ({ url, at: `line ${line}`, line, row }));
  });
  if (entries.length > maxUrls) throw new AppError('TOO_MANY_URLS', `Expected at most ${maxUrls} URLs but the file holds ${rows.length >= maxUrls + 2 ? 'more' : entries.length}`);
  return entries;
}
