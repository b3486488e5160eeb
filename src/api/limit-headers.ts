/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy`
 * names a policy and its quota `q` (and window `w`, in seconds), `RateLimit` what remains of it
 * (`r`) and the seconds until it resets (`t`). Sent beside `Retry-After` on a 429.
 */
export function limitHeaders(policy: { name: string; quota: number; windowSeconds?: number }, remaining: number, resetSeconds: number): Record<string, string> {
  const window = policy.windowSeconds === undefined ? '' : `;w=${policy.windowSeconds}`;
  return {
    'RateLimit-Policy': `"${policy.name}";q=${policy.quota}${window}`,
    RateLimit: `"${policy.name}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(resetSeconds))}`,
  };
}

/** A 429's headers: Retry-After and the policy's state, nothing left of it. */
export function refusalHeaders(policy: { name: string; quota: number; windowSeconds?: number }, retryAfterSeconds: number): Record<string, string> {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return { 'Retry-After': String(seconds), ...limitHeaders(policy, 0, seconds) };
}

/** No clock says when queued files finish: a client refused for its quota is told to look again after this. */
export const QUOTA_RETRY_AFTER_SECONDS = 10;

export const queuedFilesPolicy = (max: number) => ({ name: 'queued-files', quota: max });
