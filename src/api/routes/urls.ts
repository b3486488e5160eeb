import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type Request, type RequestHandler, type Response } from 'express';
import multer, { MulterError } from 'multer';
import { z } from 'zod';
import type { Imgflow } from '../../core/imgflow';
import { batchResultsCsv } from '../../core/results-csv';
import { URL_FAILURES } from '../../queue/url-failures';
import { urlsFromCsv, urlsFromList, type UrlEntry } from '../../core/url-list';
import { batchAccepted, batchAcceptedResponse } from '../batch-accepted';
import { runMiddleware } from '../run-middleware';
import { callerOf, submitterOf } from '../api-key-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { HttpError, type ProblemCode } from '../errors';
import { IDEMPOTENCY_DOC, idempotent } from '../idempotent';
import { MAX_PREAMBLE_BYTES, maxBodyBytes } from '../multipart';
import { guardedStreamHandler } from '../multipart-guard';
import { ACCESS_ERRORS, binary, problemResponses, READ_ERRORS } from '../openapi';
import { BatchParams, jsonOptionFields, parseParams, parseUploadFields, UPLOAD_FIELDS_ENCODING, UploadFields } from '../schemas';

const URL_ERRORS: ProblemCode[] = [
  'INVALID_URLS', 'NO_URLS', 'TOO_MANY_URLS', 'EMPTY_CSV', 'NO_URL_COLUMN', 'MALFORMED_CSV', 'NO_FILES', 'INVALID_REQUEST', 'INVALID_JSON',
  'UNEXPECTED_FIELD', 'MALFORMED_MULTIPART', 'FILE_TOO_LARGE', 'TOO_MANY_PARTS', 'FIELD_TOO_LARGE', 'PAYLOAD_TOO_LARGE', 'NOT_MULTIPART',
  'INVALID_OPTIONS', 'UNKNOWN_PRESET', 'TOO_MANY_VARIANTS', 'PRESETS_ONLY', 'CALLBACK_URL_REFUSED', 'WEBHOOKS_NOT_CONFIGURED',
  'INVALID_SCHEDULE', 'INVALID_PRIORITY', 'INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_IN_PROGRESS', 'REQUEST_ABORTED', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR',
  'QUOTA_EXCEEDED', ...ACCESS_ERRORS,
];

type UrlDeps = Pick<AppDeps, 'inFlight'> & Partial<Pick<AppDeps, 'idempotency'>> & {
  readonly imgflow: Pick<Imgflow, 'submitUrlBatch' | 'getBatch'>;
  readonly urls: { readonly maxUrls: number; readonly maxCsvBytes: number };
};

/** Room for MAX_URLS URLs of 2 KB each and the option fields; app.ts's 16 KB JSON limit is for the other routes. */
const jsonBodyLimit = (maxUrls: number) => maxUrls * 2100 + 64 * 1024;

const UrlList = z.array(z.string());

/** The URLs and option fields of a request, from a JSON body or from a CSV file and text fields. */
async function readUrlRequest(deps: UrlDeps, parsers: { json: RequestHandler; csv: RequestHandler }, req: Request, res: Response): Promise<{ entries: UrlEntry[]; fields: unknown }> {
  if (req.is('application/json')) {
    // After the idempotency check: a replay reads no body.
    await runMiddleware(parsers.json, req, res);
    const fields = jsonOptionFields(req.body);
    if (fields.urls === undefined) throw new HttpError('NO_URLS', 'Expected a JSON body with `urls`, an array of 1–' + deps.urls.maxUrls + ' http(s) URLs');
    const urls = UrlList.safeParse(fields.urls);
    if (!urls.success) throw new HttpError('INVALID_REQUEST', 'Expected `urls` to be an array of strings');
    return { entries: urlsFromList(urls.data), fields };
  }
  if (!req.is('multipart/form-data')) throw new HttpError('NOT_MULTIPART', 'Expected application/json ({ "urls": [...] }) or multipart/form-data with a CSV file in the `file` field');
  const limit = maxBodyBytes(1, deps.urls.maxCsvBytes);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new HttpError('PAYLOAD_TOO_LARGE', `Expected a body of at most ${limit} bytes but Content-Length is ${declared}`);
  try {
    await runMiddleware(parsers.csv, req, res);
  } catch (err) {
    if (err instanceof MulterError && err.code === 'LIMIT_FILE_SIZE') throw new HttpError('FILE_TOO_LARGE', `Expected a CSV file of at most ${deps.urls.maxCsvBytes} bytes`, { cause: err });
    throw err;
  }
  const file = req.file;
  if (!file) throw new HttpError('NO_FILES', 'Expected a CSV file in the `file` field');
  return { entries: urlsFromCsv(file.buffer, deps.urls.maxUrls), fields: req.body };
}

/**
 * At most 1 MB, held in memory: a CSV is parsed whole and never written to the upload store. Fed
 * through the multipart guard, as uploads are, so no framing trick or endless body can hang it.
 */
function csvOptions(maxCsvBytes: number): multer.Options & { streamHandler: ReturnType<typeof guardedStreamHandler> } {
  return {
    storage: multer.memoryStorage(),
    limits: { files: 1, fileSize: maxCsvBytes, fields: 20, fieldSize: 64 * 1024, parts: 21 },
    streamHandler: guardedStreamHandler({ maxBodyBytes: maxBodyBytes(1, maxCsvBytes), maxPreambleBytes: MAX_PREAMBLE_BYTES }),
  };
}

export function urlsRouter(deps: UrlDeps, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const { maxUrls, maxCsvBytes } = deps.urls;
  const parsers = {
    json: express.json({ limit: jsonBodyLimit(maxUrls) }),
    // At most 1 MB, held in memory: a CSV is parsed whole, and never written to the upload store.
    csv: multer(csvOptions(maxCsvBytes)).single('file'),
  };

  route(
    {
      method: 'post',
      path: '/process-urls',
      summary: 'Queue images by URL, from a list or a CSV file',
      description: [
        `Either a JSON body \`{ "urls": [...] }\` (1–${maxUrls} URLs) with the same option fields as POST /process-images, or multipart/form-data with a CSV file (at most ${maxCsvBytes} bytes) in \`file\` and the options as text fields.`,
        'CSV: UTF-8 with or without BOM, CRLF or LF, quoted fields; a header row is detected; the URL column is the one named `url`, `urls`, `image_url`, `image urls` or `input image urls` (case and spacing ignored), else the first. A cell may hold several URLs separated by commas; the other columns are kept as each file\'s `row`, its line as `line`.',
        'Every URL is checked before anything is queued (all or nothing): malformed, not http(s), with credentials, longer than 2048 characters, or a literal address the SSRF guard refuses → 400 INVALID_URLS listing each by `urls[i]` or `line N` and reason. No connection is made here; the workers download through the guard (host names are checked on the address connected to).',
        `A file that cannot be downloaded fails with one of these codes at the start of its \`failedReason\`: ${Object.entries(URL_FAILURES).map(([code, c]) => `\`${code}\` (${c.retried ? 'retried' : 'not retried'}: ${c.meaning})`).join('; ')}.`,
      ].join('\n\n'),
      request: {
        headers: IDEMPOTENCY_DOC.headers,
        body: {
          required: true,
          content: {
            'application/json': { schema: UploadFields.extend({ urls: z.array(z.url()).min(1).max(maxUrls) }) },
            'multipart/form-data': { schema: UploadFields.extend({ file: binary.meta({ description: 'A CSV file of image URLs' }) }), encoding: UPLOAD_FIELDS_ENCODING },
          },
        },
      },
      responses: {
        202: batchAcceptedResponse('Accepted: every URL is queued; each job\'s originalName is its URL', IDEMPOTENCY_DOC.replayed),
        ...problemResponses(URL_ERRORS),
      },
    },
    idempotent(deps.idempotency, (req, res) =>
      deps.inFlight.track(async () => {
        const { entries, fields } = await readUrlRequest(deps, parsers, req, res);
        const { request, schedule } = parseUploadFields(fields);
        return batchAccepted(await deps.imgflow.submitUrlBatch(submitterOf(req, res), entries, request, schedule));
      }),
    ),
  );

  route(
    {
      method: 'get',
      path: '/batches/{batchId}/results.csv',
      summary: 'A batch as CSV: each file with its state, failure reason and output links',
      description: 'One line per file in input order: `line` (its CSV line, for a CSV batch), `url` (or the file name of an upload), the row\'s other columns, `state`, `failed_reason`, and `output_<variant>` per variant with the link to that output (empty until it is done).',
      request: { params: BatchParams },
      responses: {
        200: { description: 'RFC 4180 CSV, UTF-8, CRLF', content: { 'text/csv': { schema: z.string() } } },
        ...problemResponses([...READ_ERRORS, 'BATCH_NOT_FOUND']),
      },
    },
    async (req, res) => {
      const { batchId } = parseParams(BatchParams, req.params);
      const batch = await deps.imgflow.getBatch(callerOf(res), batchId);
      const base = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
      const csv = batchResultsCsv(batch, (jobId, variant) => `${base}/jobs/${jobId}/result?variant=${encodeURIComponent(variant)}`);
      res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="batch-${batchId}-results.csv"`).send(csv);
    },
  );
  return router;
}
