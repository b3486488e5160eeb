/** Why an outbound request was refused before (or instead of) being sent. */
export type OutboundRefusalCode = 'BAD_URL' | 'BAD_SCHEME' | 'CREDENTIALS_IN_URL' | 'PRIVATE_ADDRESS' | 'TOO_MANY_REDIRECTS';

/** An outbound request the guard will not make; permanent: sending it again is refused again. */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
  constructor(
    readonly code: OutboundRefusalCode,
    message: string,
  ) {
    super(message);
  }
}
