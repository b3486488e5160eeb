/**
 * The codes a URL job's `failedReason` starts with when its download fails: the worker raises
 * them, the API documents them. Not retried: a retry would get the same answer, so the job goes
 * straight to the dead-letter queue. Retried: with the job's backoff, then dead-lettered.
 */
export const URL_FAILURES = {
  URL_REFUSED: { retried: false, meaning: 'the guard refused the address connected to (loopback, private, metadata…; DNS included) or a redirect\'s URL' },
  URL_HTTP_4XX: { retried: false, meaning: 'the server answered 4xx (the status follows)' },
  URL_TOO_LARGE: { retried: false, meaning: 'over MAX_FILE_SIZE_MB, by Content-Length or while streaming' },
  URL_NOT_IMAGE: { retried: false, meaning: 'not an accepted image by its magic bytes, whatever its Content-Type' },
  URL_TOO_MANY_REDIRECTS: { retried: false, meaning: 'more than 5 redirects' },
  TOO_MANY_PIXELS: { retried: false, meaning: 'its header declares more pixels than the decode budget' },
  URL_TIMEOUT: { retried: true, meaning: 'no connection within FETCH_CONNECT_TIMEOUT_MS, or not all of it within FETCH_TIMEOUT_MS' },
  URL_UNREACHABLE: { retried: true, meaning: 'the name did not resolve or the connection was refused' },
  URL_HTTP_5XX: { retried: true, meaning: 'the server answered 5xx (the status follows)' },
  URL_CONNECTION_RESET: { retried: true, meaning: 'the connection was reset mid-answer' },
} as const satisfies Record<string, { retried: boolean; meaning: string }>;

export type UrlFailureCode = keyof typeof URL_FAILURES;
