/** Every error the API can answer with: a stable `code`, its HTTP status and a short title. */
export const problems = {
  NO_FILES: { status: 400, title: 'No files uploaded' },
  UNEXPECTED_FIELD: { status: 400, title: 'Unexpected form field' },
  MALFORMED_MULTIPART: { status: 400, title: 'Malformed multipart body' },
  INVALID_ID: { status: 400, title: 'Malformed id' },
  INVALID_REQUEST: { status: 400, title: 'Invalid request' },
  INVALID_JSON: { status: 400, title: 'Malformed JSON body' },
  REQUEST_ABORTED: { status: 400, title: 'Request aborted by the client' },
  INVALID_OPTIONS: { status: 400, title: 'Invalid output settings' },
  UNKNOWN_PRESET: { status: 400, title: 'Unknown preset' },
  TOO_MANY_VARIANTS: { status: 400, title: 'Too many variants' },
  OUTPUT_TOO_LARGE: { status: 400, title: 'Output too large' },
  PRESETS_ONLY: { status: 400, title: 'Only presets are allowed' },
  CALLBACK_URL_REFUSED: { status: 400, title: 'Callback URL refused' },
  WEBHOOKS_NOT_CONFIGURED: { status: 400, title: 'Webhooks are not configured on this server' },
  INVALID_SCHEDULE: { status: 400, title: 'Invalid schedule' },
  INVALID_PRIORITY: { status: 400, title: 'Invalid priority' },
  INVALID_IDEMPOTENCY_KEY: { status: 400, title: 'Invalid Idempotency-Key header' },
  INVALID_URLS: { status: 400, title: 'Invalid image URLs' },
  NO_URLS: { status: 400, title: 'No image URLs' },
  TOO_MANY_URLS: { status: 400, title: 'Too many image URLs' },
  EMPTY_CSV: { status: 400, title: 'Empty CSV file' },
  NO_URL_COLUMN: { status: 400, title: 'No URL column in the CSV file' },
  MALFORMED_CSV: { status: 400, title: 'Malformed CSV file' },
  UPLOAD_SIZE_MISMATCH: { status: 400, title: 'Uploaded file size differs from the declared one' },
  UNAUTHORIZED: { status: 401, title: 'Missing or wrong admin token' },
  UNAUTHENTICATED: { status: 401, title: 'Missing or wrong credentials' },
  BATCH_NOT_FOUND: { status: 404, title: 'Batch not found' },
  JOB_NOT_FOUND: { status: 404, title: 'Job not found' },
  RESULT_NOT_READY: { status: 404, title: 'Result not ready' },
  DEAD_LETTER_NOT_FOUND: { status: 404, title: 'Dead letter not found' },
  VARIANT_NOT_FOUND: { status: 404, title: 'Variant not found' },
  DELIVERY_NOT_FOUND: { status: 404, title: 'Webhook delivery not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  UPLOAD_NOT_FOUND: { status: 404, title: 'Upload not found' },
  IDEMPOTENCY_IN_PROGRESS: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  UPLOAD_ALREADY_COMPLETED: { status: 409, title: 'Upload already completed' },
  UPLOAD_INCOMPLETE: { status: 409, title: 'Upload not finished' },
  UPLOAD_ALREADY_USED: { status: 409, title: 'Resumable upload already in a batch' },
  RESULT_EXPIRED: { status: 410, title: 'Result removed' },
  UPLOAD_EXPIRED: { status: 410, title: 'Resumable upload expired' },
  TOO_MANY_FILES: { status: 413, title: 'Too many files' },
  FILE_TOO_LARGE: { status: 413, title: 'File too large' },
  TOO_MANY_PARTS: { status: 413, title: 'Too many form parts' },
  FIELD_TOO_LARGE: { status: 413, title: 'Form field too large' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported image type' },
  NOT_MULTIPART: { status: 415, title: 'Expected multipart/form-data' },
  TOO_MANY_PIXELS: { status: 422, title: 'Image dimensions too large' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  QUOTA_EXCEEDED: { status: 429, title: 'Too many files queued' },
  QUEUE_UNAVAILABLE: { status: 503, title: 'Queue unavailable' },
  STORAGE_UNAVAILABLE: { status: 503, title: 'Storage unavailable' },
  SHUTTING_DOWN: { status: 503, title: 'Server shutting down' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
  DIRECT_UPLOADS_UNSUPPORTED: { status: 501, title: 'Direct uploads need object storage' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof problems;

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  /** Response headers the answer needs beside its body (Retry-After, WWW-Authenticate, …). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(detail, options);
    this.status = problems[code].status;
    this.headers = options?.headers ?? {};
  }
}
