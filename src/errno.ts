/**
 * Whether `err` is a Node system error with an errno code (with this one, when given). Not
 * `instanceof Error`: errors made in another realm (a vm context, jest's sandbox) fail that test.
 */
export function isErrno(err: unknown, code?: string): err is NodeJS.ErrnoException & { code: string } {
  if (typeof err !== 'object' || err === null || !('code' in err) || typeof err.code !== 'string') return false;
  return code === undefined || err.code === code;
}
