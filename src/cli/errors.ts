/** The process exit codes, one meaning each (README, "CLI"). */
export const EXIT = {
  /** Every file done (or queued, without --wait). */
  ok: 0,
  /** Some files failed; the others are done. */
  someFailed: 1,
  /** A flag or argument was wrong; nothing was sent. */
  usage: 2,
  /** The server could not be reached, or refused the request as a whole. */
  server: 3,
} as const;

/** A mistake on the command line: exit 2 with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = EXIT.usage;
}

/** No answer from the server (refused, reset, DNS, timeout): exit 3. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
  readonly exitCode = EXIT.server;
}

/** The server answered with a problem+json error (`code` from src/api/errors.ts): exit 3 when it is the whole request's. */
export class ApiProblemError extends Error {
  override name = 'ApiProblemError';
  readonly exitCode = EXIT.server;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly path: string,
  ) {
    super(`${path}: ${status} ${code}: ${detail}`);
  }
}
