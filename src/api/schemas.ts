import { z } from 'zod';
import { BATCH_STATUSES, FILE_STATES } from '../queue/batch-summary';
import type { BatchRequest } from '../core/imgflow';
import { CALLBACK_EVENTS, DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES } from '../queue/webhook-jobs';
import { MAX_SCHEDULE_MS, type ScheduleRequest } from '../core/schedule';
import { ImageJobResult, JOB_PRIORITIES, type JobPriority } from '../queue/jobs';
import { OutputSettings, VARIANT_NAME, VariantSpecSchema } from '../queue/output-settings';
import { HttpError, problems, type ProblemCode } from './errors';

const uuid = (description: string) => z.uuid({ version: 'v4' }).meta({ description, example: '3b241101-e2bb-4255-8caf-4136c566a962' });

export const BatchParams = z.object({ batchId: uuid('Batch id returned by POST /process-images') });
export const JobParams = z.object({ jobId: uuid('Job id: one per uploaded file') });
export const UploadIdParams = z.object({ uploadId: uuid('Upload id returned by POST /uploads') });
export const DeadLetterParams = z.object({ id: uuid('Dead letter id (the failed job id)') });
export const DeadLetterQuery = z.object({
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** The first non-string-JSON problem of a text field; zod reports it as the field's issue. */
function parseJsonText(value: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `expected a JSON object but the text is not JSON (${err instanceof Error ? err.message : 'unparseable'})` });
    return z.NEVER;
  }
}

// Any name: one that is not a preset is UNKNOWN_PRESET, which lists the known ones.
const presetName = z.string().max(64);

/**
 * The text fields of an upload, before or after the files. Parsed with this schema and
 * documented by it: `options` is shown as the settings object it must hold.
 */
export const UploadFields = z.object({
  preset: presetName.optional().meta({ description: 'One preset (GET /presets). Default: `default`, the 512 px grey JPEG.' }),
  variants: z
    .string()
    .transform((text) => text.split(',').map((name) => name.trim()))
    .pipe(z.array(presetName))
    .optional()
    .meta({ description: 'Comma-separated preset names, 1–MAX_VARIANTS (5): one output each, all from one decode. Not with `preset` or `options`.' }),
  options: z
    .preprocess(parseJsonText, OutputSettings)
    .optional()
    .meta({ description: 'A JSON object of settings overriding the preset\'s: one output, variant `custom`. Refused (PRESETS_ONLY) when the server has ONLY_PRESETS=true.' }),
  callbackUrl: z
    .string()
    .max(2048)
    .optional()
    .meta({ description: 'http(s) URL that receives signed webhooks (Standard Webhooks, see README) when the batch finishes. Refused (CALLBACK_URL_REFUSED) with credentials or a private, loopback or metadata address; WEBHOOKS_NOT_CONFIGURED when the server has no WEBHOOK_SECRET.', example: 'https://example.com/hooks/imgflow' }),
  callbackEvents: z
    .enum(CALLBACK_EVENTS)
    .optional()
    .meta({ description: '`batch` (default): one batch.completed | batch.completed-with-errors | batch.failed webhook; `batch,file`: also file.completed | file.failed per file.' }),
  delayMs: z.coerce.number().int().min(0).max(MAX_SCHEDULE_MS).optional().meta({ description: 'Process no earlier than this many ms from now (at most 30 days). Not with `processAt`.' }),
  processAt: z.iso.datetime({ offset: true }).optional().meta({ description: 'Process no earlier than this time: ISO 8601 with `Z` or an offset, at most 30 days ahead, not more than 30 s in the past. Not with `delayMs`.', example: '2030-01-01T09:00:00Z' }),
  priority: z.enum(Object.keys(JOB_PRIORITIES) as [JobPriority, ...JobPriority[]]).optional().meta({ description: 'Which jobs workers take first: every `high` job before any `normal` one, `normal` before `low`; in upload order within one. Default `normal`.' }),
}) satisfies z.ZodType<BatchRequest & ScheduleRequest, Record<string, unknown>>;

/** The code a bad field is refused with; fields not listed are output settings. */
const FIELD_PROBLEMS: Partial<Record<string, ProblemCode>> = { delayMs: 'INVALID_SCHEDULE', processAt: 'INVALID_SCHEDULE', priority: 'INVALID_PRIORITY' };

/** multipart encoding of the text fields, for the OpenAPI document. */
export const UPLOAD_FIELDS_ENCODING = { options: { contentType: 'application/json' } };

/** The option fields of a JSON body as parseUploadFields reads them: a JSON client may send `variants` as an array, the multipart routes' text form is comma-separated. */
export function jsonOptionFields(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const fields = body as Record<string, unknown>;
  return Array.isArray(fields.variants) ? { ...fields, variants: fields.variants.join(',') } : fields;
}

/**
 * The text fields of a received upload (multer leaves them in req.body), split into what they
 * ask of the outputs and of the schedule. A mismatch is 400 naming the field and what it allows:
 * INVALID_SCHEDULE, INVALID_PRIORITY, or INVALID_OPTIONS for the output settings. Empty fields count as not sent.
 */
export function parseUploadFields(body: unknown): { request: BatchRequest; schedule: ScheduleRequest } {
  const present = Object.fromEntries(Object.entries(typeof body === 'object' && body !== null ? body : {}).filter(([name, v]) => name in UploadFields.shape && v !== ''));
  const parsed = UploadFields.safeParse(present);
  if (parsed.success) {
    const { delayMs, processAt, priority, ...request } = parsed.data;
    return { request, schedule: { delayMs, processAt, priority } };
  }
  const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new HttpError(FIELD_PROBLEMS[String(parsed.error.issues[0]?.path[0])] ?? 'INVALID_OPTIONS', issues);
}

export const Presets = z
  .record(z.string(), VariantSpecSchema.omit({ name: true }))
  .meta({ id: 'Presets', description: 'Every preset by name, with its settings resolved over the defaults' });
export type Presets = z.infer<typeof Presets>;

export const ResultQuery = z.object({
  variant: z.string().regex(VARIANT_NAME).optional().meta({ description: 'Which variant to serve (`result.variants[].name`); default: the first' }),
  proxy: z.enum(['true', 'false']).optional().transform((v) => v === 'true').meta({ description: 'With object storage: `true` streams the image through the API instead of answering 302 to a signed URL' }),
});

export const ImageResult = ImageJobResult.meta({ id: 'ImageResult', description: 'The processed image; outputPath is relative to the processed directory' });

export const AcceptedJob = z
  .object({ jobId: z.uuid(), originalName: z.string(), statusUrl: z.string().meta({ example: '/jobs/3b241101-e2bb-4255-8caf-4136c566a962' }) })
  .meta({ id: 'AcceptedJob' });

export const BatchAccepted = z
  .object({
    batchId: z.uuid(),
    statusUrl: z.string().meta({ example: '/batches/3b241101-e2bb-4255-8caf-4136c566a962' }),
    totalFiles: z.number().int().positive(),
    jobs: z.array(AcceptedJob),
  })
  .meta({ id: 'BatchAccepted' });

export const UploadAccepted = z
  .object({ jobId: z.uuid(), batchId: z.uuid(), statusUrl: z.string() })
  .meta({ id: 'UploadAccepted' });

const FileFields = {
  jobId: z.uuid(),
  originalName: z.string().meta({ description: 'The client-supplied file name, sanitised, or the URL it is fetched from; for display only' }),
  state: z.enum(FILE_STATES).meta({ description: 'delayed: scheduled for later (`processAt`), or waiting to retry after a failed attempt' }),
  progress: z.number().min(0).max(100),
  result: ImageResult.nullable(),
  failedReason: z.string().nullable().meta({ description: 'Starts with a stable code, e.g. CORRUPT_IMAGE:' }),
  attemptsMade: z.number().int().nonnegative(),
  line: z.number().int().positive().optional().meta({ description: 'From a CSV of URLs: the line its row starts on' }),
  row: z.array(z.tuple([z.string(), z.string()])).optional().meta({ description: 'From a CSV of URLs: the row\'s other columns, as [column, value] pairs in order' }),
};

export const JobStatus = z.object({ ...FileFields, batchId: z.uuid() }).meta({ id: 'JobStatus' });

export const BatchStatus = z
  .object({
    batchId: z.uuid(),
    status: z.enum(BATCH_STATUSES).meta({ description: 'scheduled: its `processAt` is ahead and no file has started' }),
    progress: z.object({
      total: z.number().int(),
      completed: z.number().int(),
      failed: z.number().int(),
      active: z.number().int(),
      waiting: z.number().int().meta({ description: 'Not started yet, or waiting to retry' }),
      delayed: z.number().int().meta({ description: 'Of `waiting`, those not due yet: scheduled for later, or backing off before a retry' }),
    }),
    createdAt: z.iso.datetime(),
    processAt: z.iso.datetime().optional().meta({ description: 'When the jobs of a batch uploaded with `delayMs` or `processAt` are due' }),
    files: z.array(z.object(FileFields).meta({ id: 'FileStatus' })),
  })
  .meta({ id: 'BatchStatus' });

/** A GET /batches cursor: the last entry of the previous page, `<createdAt ms>.<batchId>` in base64url. */
export const encodeBatchCursor = (at: { createdAtMs: number; batchId: string }) => Buffer.from(`${at.createdAtMs}.${at.batchId}`).toString('base64url');
const BATCH_CURSOR = /^(\d{1,15})\.([0-9a-f-]{36})$/;

export const BatchListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: 'Batches per page' }),
  cursor: z
    .string()
    .max(100)
    .transform((text, ctx) => {
      const match = BATCH_CURSOR.exec(Buffer.from(text, 'base64url').toString());
      if (match?.[1] && match[2]) return { createdAtMs: Number(match[1]), batchId: match[2] };
      ctx.addIssue({ code: 'custom', message: 'expected the nextCursor of a previous page' });
      return z.NEVER;
    })
    .optional()
    .meta({ description: 'The `nextCursor` of the previous page; omit for the newest batches' }),
  status: z.enum(BATCH_STATUSES).optional().meta({ description: 'Only batches in this status now' }),
});

export const BatchList = z
  .object({
    items: z.array(BatchStatus.omit({ files: true }).extend({ statusUrl: z.string() }).meta({ id: 'BatchSummary' })),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null when there is none. A page filtered by `status` looks at a bounded number of batches and may hold fewer than `limit` items (even none) while nextCursor is not null.' }),
  })
  .meta({ id: 'BatchList' });
export type BatchList = z.infer<typeof BatchList>;

/** `progress` on GET /batches/{batchId}/events. */
export const BatchProgressEvent = z
  .object({ jobId: z.uuid(), progress: z.number().min(0).max(100) })
  .meta({ id: 'BatchProgressEvent', description: 'A file\'s progress in percent; best-effort: a file may finish without any' });

/** `file` on GET /batches/{batchId}/events. */
export const BatchFileEvent = z
  .discriminatedUnion('state', [
    z.object({ jobId: z.uuid(), state: z.literal('completed'), result: ImageResult }),
    z.object({ jobId: z.uuid(), state: z.literal('failed'), failedReason: z.string().meta({ description: 'Starts with a stable code, e.g. CORRUPT_IMAGE:' }) }),
  ])
  .meta({ id: 'BatchFileEvent', description: 'A file that finished: its result, or why it failed for good' });

export const DeadLetter = z
  .object({
    id: z.uuid(),
    batchId: z.uuid(),
    originalName: z.string(),
    failedReason: z.string(),
    attemptsMade: z.number().int(),
    failedAt: z.iso.datetime(),
  })
  .meta({ id: 'DeadLetter' });

export const DeadLetterList = z
  .object({ total: z.number().int(), offset: z.number().int(), limit: z.number().int(), items: z.array(DeadLetter) })
  .meta({ id: 'DeadLetterList' });

export const RetryAccepted = z.object({ jobId: z.uuid(), statusUrl: z.string() }).meta({ id: 'RetryAccepted' });

export const DeliveryParams = z.object({ id: z.string().regex(/^msg_[\w-]{1,100}$/).meta({ description: 'The delivery id: its webhook-id header', example: 'msg_3b241101-e2bb-4255-8caf-4136c566a962_1' }) });
export const DeliveryQuery = z.object({
  batchId: z.uuid().optional().meta({ description: 'Only this batch\'s deliveries' }),
  status: z.enum(DELIVERY_STATUSES).optional().meta({ description: 'pending: waiting, retrying or being sent; failed: failed for good (kept until retention, replayable)' }),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const Delivery = z
  .object({
    id: z.string().meta({ description: 'The webhook-id header: stable across retries and replays' }),
    type: z.enum(WEBHOOK_EVENT_TYPES),
    url: z.string(),
    batchId: z.uuid(),
    jobId: z.string().nullable().meta({ description: 'The file, for file.* events' }),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int().nonnegative(),
    lastAttemptAt: z.iso.datetime().nullable(),
    lastStatusCode: z.number().int().nullable().meta({ description: 'null: no answer (network error, timeout, refused address)' }),
    lastError: z.string().nullable(),
    lastResponse: z.string().nullable().meta({ description: 'At most 1 KB of the receiver\'s last answer' }),
    nextAttemptAt: z.iso.datetime().nullable().meta({ description: 'When a retry is due; null when none is planned or it is due now' }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'WebhookDelivery' });

export const DeliveryList = z
  .object({ total: z.number().int(), offset: z.number().int(), limit: z.number().int(), items: z.array(Delivery) })
  .meta({ id: 'WebhookDeliveryList', description: 'Looks through the newest 1,000 deliveries of each status' });

export const ReplayAccepted = z.object({ id: z.string() }).meta({ id: 'ReplayAccepted' });

export const Health = z.object({ status: z.enum(['ok', 'ready']) }).meta({ id: 'Health' });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(problems) as [ProblemCode, ...ProblemCode[]]),
    instance: z.string().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; `code` is stable and safe to branch on' });

export type BatchAccepted = z.infer<typeof BatchAccepted>;
export type UploadAccepted = z.infer<typeof UploadAccepted>;
export type JobStatus = z.infer<typeof JobStatus>;
export type BatchStatus = z.infer<typeof BatchStatus>;
export type DeadLetterList = z.infer<typeof DeadLetterList>;
export type RetryAccepted = z.infer<typeof RetryAccepted>;
export type DeliveryList = z.infer<typeof DeliveryList>;
export type ReplayAccepted = z.infer<typeof ReplayAccepted>;

/** Parses route params with a schema; any mismatch is a malformed id. */
export function parseParams<T extends z.ZodType>(schema: T, params: unknown): z.infer<T> {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
  throw new HttpError('INVALID_ID', `Expected a UUID v4 for ${names} but received something else`);
}

/**
 * Parses a query string with a schema; a mismatch is the client's (400 INVALID_REQUEST).
 * Routes call this rather than `schema.parse`, so that a ZodError reaching the error
 * handler always means bad data inside the server (a 500).
 */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
  throw new HttpError('INVALID_REQUEST', `Invalid query string: ${issues}`);
}

export const DirectUploadRequest = z
  .object({
    files: z
      .array(
        z.object({
          name: z.string().max(1024).meta({ description: 'The file\'s name, shown back as its originalName' }),
          size: z.number().int().positive().meta({ description: 'Its size in bytes: the PUT must send exactly this many' }),
          contentType: z.string().meta({ description: 'One of GET /limits\' acceptedTypes; the PUT sends it as Content-Type. The content decides, checked at completion', example: 'image/jpeg' }),
        }),
      )
      .meta({ description: '1–MAX_FILES files of at most MAX_FILE_SIZE_MB each' }),
  })
  .meta({ id: 'DirectUploadRequest' });

export const DirectUploadStarted = z
  .object({
    uploadId: z.uuid(),
    expiresAt: z.string().meta({ description: 'When the URLs stop working (S3_URL_TTL_S from now); complete within as long again' }),
    files: z.array(
      z.object({
        fileId: z.uuid().meta({ description: 'The file\'s id; its job id once completed' }),
        url: z.string().meta({ description: 'A signed URL of the bucket to PUT the file\'s bytes to' }),
        method: z.literal('PUT'),
        headers: z.record(z.string(), z.string()).meta({ description: 'Headers the PUT must send (Content-Type)', example: { 'Content-Type': 'image/jpeg' } }),
      }),
    ),
  })
  .meta({ id: 'DirectUploadStarted', description: 'PUT each file to its URL, then POST /uploads/{uploadId}/complete' });
export type DirectUploadStarted = z.infer<typeof DirectUploadStarted>;

/** POST /uploads/{uploadId}/complete: the upload routes' fields as JSON, `variants` also as an array and `options` as an object. */
export const CompleteUploadBody = UploadFields.extend({
  variants: z.union([z.string(), z.array(z.string())]).optional().meta({ description: 'Preset names, comma-separated or as an array' }),
}).meta({ id: 'CompleteUploadBody' });

export const UploadLimitsBody = z
  .object({
    maxFiles: z.number().int().positive().meta({ description: 'Files per upload request (MAX_FILES)' }),
    maxFileSizeBytes: z.number().int().positive().meta({ description: 'Bytes per file (MAX_FILE_SIZE_MB)' }),
    maxInputPixels: z.number().int().positive().meta({ description: 'Pixels per input image (width × height); larger ones are refused with TOO_MANY_PIXELS' }),
    maxVariants: z.number().int().positive().meta({ description: 'Presets per upload in `variants` (MAX_VARIANTS)' }),
    acceptedTypes: z.array(z.string()).meta({ description: 'The media types an upload may hold, judged by content', example: ['image/jpeg', 'image/png'] }),
  })
  .meta({ id: 'UploadLimits', description: 'What POST /process-images accepts, so clients can check files before sending them; the server still decides' });
export type UploadLimitsBody = z.infer<typeof UploadLimitsBody>;
