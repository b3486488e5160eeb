/** What a use case can refuse with; every entry point maps these codes to its own answer (HTTP: errors.ts). */
export type AppErrorCode =
  | 'BATCH_NOT_FOUND' | 'JOB_NOT_FOUND' | 'RESULT_NOT_READY' | 'RESULT_EXPIRED' | 'DEAD_LETTER_NOT_FOUND' | 'VARIANT_NOT_FOUND'
  | 'INVALID_OPTIONS' | 'UNKNOWN_PRESET' | 'TOO_MANY_VARIANTS' | 'OUTPUT_TOO_LARGE' | 'PRESETS_ONLY'
  | 'CALLBACK_URL_REFUSED' | 'WEBHOOKS_NOT_CONFIGURED' | 'DELIVERY_NOT_FOUND' | 'INVALID_SCHEDULE' | 'SHUTTING_DOWN'
  | 'INVALID_URLS' | 'NO_URLS' | 'TOO_MANY_URLS' | 'EMPTY_CSV' | 'NO_URL_COLUMN' | 'MALFORMED_CSV'
  | 'FILE_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'TOO_MANY_PIXELS';

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: AppErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
