export type InvalidImageCode = 'UNSUPPORTED_TYPE' | 'CORRUPT_IMAGE' | 'TOO_MANY_PIXELS' | 'TOO_MANY_FRAMES' | 'OUTPUT_TOO_LARGE' | 'INPUT_MISSING';

/**
 * The input can never be processed, however often it is retried: the worker turns it into
 * BullMQ's UnrecoverableError so the job goes straight to the dead-letter queue.
 */
export class InvalidImageError extends Error {
  override name = 'InvalidImageError';
  constructor(
    readonly code: InvalidImageCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
