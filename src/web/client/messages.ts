/**
 * Every error `code` the API answers with, and every failure code a worker gives a file, as a
 * sentence for someone who has never seen an HTTP status. Pure (no DOM), so a unit test can hold
 * it against the API's catalogue: a new code without a sentence fails that test.
 */

const READABLE_TYPES = 'JPEG, PNG, WebP, GIF, AVIF or TIFF';

/** What a sentence may mention: the server's limits, as GET /limits reports them. */
export interface SentenceContext {
  readonly maxFiles?: number | undefined;
  readonly maxFileSizeBytes?: number | undefined;
}

/** 20971520 → "20 MB"; 1500 → "1.5 KB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB'] as const;
  let value = bytes / 1024;
  let unit: (typeof units)[number] = 'KB';
  for (const next of units.slice(1)) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
}

const perFile = (c: SentenceContext) => (c.maxFileSizeBytes ? ` (at most ${formatBytes(c.maxFileSizeBytes)} per file)` : '');
const perUpload = (c: SentenceContext) => (c.maxFiles ? ` (at most ${c.maxFiles} per upload)` : '');

type Sentence = string | ((c: SentenceContext) => string);

/** By problem+json `code` (src/api/errors.ts). */
export const PROBLEM_SENTENCES: Readonly<Record<string, Sentence>> = {
  NO_FILES: 'Choose at least one image first.',
  UNEXPECTED_FIELD: 'The upload form sent something the server does not expect. Reload the page and try again.',
  MALFORMED_MULTIPART: 'The upload arrived damaged. Try again.',
  INVALID_ID: 'This link does not point to a batch: check that it was copied in full.',
  INVALID_REQUEST: 'The server could not understand this request. Reload the page and try again.',
  INVALID_JSON: 'The server could not understand this request. Reload the page and try again.',
  REQUEST_ABORTED: 'The upload stopped before it finished. Check your connection and try again.',
  INVALID_OPTIONS: 'One of the advanced settings is not allowed. Check the width, format and quality.',
  UNKNOWN_PRESET: 'One of the chosen outputs no longer exists on the server. Reload the page and choose again.',
  TOO_MANY_VARIANTS: 'Too many outputs are chosen at once. Choose fewer.',
  OUTPUT_TOO_LARGE: 'The result would be too large. Choose a smaller width.',
  PRESETS_ONLY: 'This server only allows its ready-made outputs: clear the advanced settings.',
  CALLBACK_URL_REFUSED: 'The server refused the notification address.',
  WEBHOOKS_NOT_CONFIGURED: 'This server does not send notifications.',
  INVALID_SCHEDULE: 'The chosen time to process these images is not allowed.',
  INVALID_PRIORITY: 'The chosen priority is not allowed.',
  INVALID_IDEMPOTENCY_KEY: 'The server could not understand this request. Reload the page and try again.',
  INVALID_URLS: 'Some of the image addresses cannot be fetched: they are not web addresses the server may visit.',
  NO_URLS: 'No image addresses were given.',
  TOO_MANY_URLS: 'Too many image addresses at once. Send fewer.',
  EMPTY_CSV: 'The list of image addresses is empty.',
  NO_URL_COLUMN: 'The list has no column of image addresses.',
  MALFORMED_CSV: 'The list of image addresses could not be read. Save it as a UTF-8 CSV file and try again.',
  UNAUTHORIZED: 'Only the operators of this server may do that.',
  UNAUTHENTICATED: 'This server needs an API key. Enter yours to go on.',
  RATE_LIMITED: 'Too many requests in a short time. Wait a moment, then try again.',
  QUOTA_EXCEEDED: 'You have too many images waiting to be processed. Wait for some to finish, then try again.',
  BATCH_NOT_FOUND: 'This batch does not exist, or it is so old that the server has forgotten it.',
  JOB_NOT_FOUND: 'This image does not exist, or it is so old that the server has forgotten it.',
  RESULT_NOT_READY: 'This image is not finished yet.',
  DEAD_LETTER_NOT_FOUND: 'There is no such failed image to retry.',
  VARIANT_NOT_FOUND: 'This image has no such output.',
  DELIVERY_NOT_FOUND: 'There is no such notification.',
  ROUTE_NOT_FOUND: 'There is nothing at this address.',
  IDEMPOTENCY_IN_PROGRESS: 'This upload is already being received. Wait a moment.',
  RESULT_EXPIRED: 'This result has been removed from the server to save space. Upload the image again.',
  UPLOAD_NOT_FOUND: 'This upload is no longer on the server. Upload the image again.',
  UPLOAD_EXPIRED: 'This upload was left unfinished for too long and has expired. Upload the image again.',
  UPLOAD_INCOMPLETE: 'This upload has not finished yet. Let it finish, then try again.',
  UPLOAD_ALREADY_USED: 'This upload has already been sent for processing.',
  TOO_MANY_FILES: (c) => `Too many images for one upload${perUpload(c)}. Upload the rest in another go.`,
  FILE_TOO_LARGE: (c) => `This file is too large${perFile(c)}.`,
  TOO_MANY_PARTS: (c) => `Too many images for one upload${perUpload(c)}. Upload the rest in another go.`,
  FIELD_TOO_LARGE: 'One of the settings is too long.',
  PAYLOAD_TOO_LARGE: (c) => `This upload is too large altogether${perFile(c)}. Upload fewer images at a time.`,
  UNSUPPORTED_MEDIA_TYPE: `This file is not an image we can read: ${READABLE_TYPES}.`,
  NOT_MULTIPART: 'The upload was not sent as a form. Reload the page and try again.',
  TOO_MANY_PIXELS: 'This image has too many pixels for the server to open safely. Use a smaller version.',
  QUEUE_UNAVAILABLE: 'The server is busy or partly down right now. Try again in a minute.',
  STORAGE_UNAVAILABLE: 'The server cannot store files right now. Try again in a minute.',
  // Direct uploads (POST /uploads; UPLOAD_NOT_FOUND and UPLOAD_INCOMPLETE are shared with tus, above):
  // the page uploads through /process-images, so these reach it only from other clients.
  DIRECT_UPLOADS_UNSUPPORTED: 'This server takes uploads through the page only.',
  UPLOAD_ALREADY_COMPLETED: 'This upload has already been sent for processing.',
  UPLOAD_SIZE_MISMATCH: 'An image arrived with another size than announced. Upload it again.',
  SHUTTING_DOWN: 'The server is restarting. Try again in a minute.',
  INTERNAL_ERROR: 'Something went wrong on the server. Try again; if it keeps happening, tell the people who run it.',
  // The page's own check (the server would store an empty file and fail it as UNSUPPORTED_TYPE).
  EMPTY_FILE: 'This file is empty.',
};

/** By the code a worker puts at the start of a file's failedReason ("CORRUPT_IMAGE: …"). */
export const FAILURE_SENTENCES: Readonly<Record<string, string>> = {
  UNSUPPORTED_TYPE: `This file is not an image we can read: ${READABLE_TYPES}.`,
  CORRUPT_IMAGE: 'This image is damaged or incomplete, so it cannot be opened. Try saving or exporting it again.',
  TOO_MANY_PIXELS: 'This image has too many pixels for the server to open safely. Use a smaller version.',
  TOO_MANY_FRAMES: 'This animation has too many frames. Use a shorter one, or turn off keeping the animation.',
  OUTPUT_TOO_LARGE: 'The result would be too large. Choose a smaller width.',
  INPUT_MISSING: 'The uploaded file was no longer on the server when its turn came. Upload it again.',
  INVALID_JOB_DATA: 'The server could not read its own instructions for this image. Upload it again.',
  OUTPUT_WRITE_FAILED: 'The server could not save the result (its disk may be full). Try again later.',
  PROCESSING_FAILED: 'Something went wrong while processing this image, several times. Try again later.',
  URL_REFUSED: 'The server is not allowed to fetch an image from this address.',
  URL_HTTP_4XX: 'The address did not give an image: the website said it is missing or not allowed.',
  URL_TOO_LARGE: 'The image at this address is too large.',
  URL_NOT_IMAGE: `The address does not give an image we can read: ${READABLE_TYPES}.`,
  URL_TOO_MANY_REDIRECTS: 'The address sends the server on to other addresses too many times.',
  URL_TIMEOUT: 'The website at this address took too long to answer, several times. Try again later.',
  URL_UNREACHABLE: 'The website at this address could not be reached. Check the address.',
  URL_HTTP_5XX: 'The website at this address had an error, several times. Try again later.',
  URL_CONNECTION_RESET: 'The website at this address broke off the download, several times. Try again later.',
};

const UNKNOWN_FAILURE = 'This image could not be processed.';

/** The sentence for a problem+json `code`; the server's own title when the code is new to this page. */
export function problemSentence(code: string | undefined, context: SentenceContext = {}, fallback = UNKNOWN_FAILURE): string {
  const sentence = code === undefined ? undefined : PROBLEM_SENTENCES[code];
  if (sentence === undefined) return fallback;
  return typeof sentence === 'string' ? sentence : sentence(context);
}

/** The sentence for a failed file's `failedReason`, judged by its leading code. */
export function failureSentence(failedReason: string | null | undefined): string {
  const code = /^([A-Z][A-Z0-9_]+)(?::|$)/.exec(failedReason ?? '')?.[1];
  return (code !== undefined && FAILURE_SENTENCES[code]) || UNKNOWN_FAILURE;
}
