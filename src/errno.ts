/** Whether `err` is a Node system error with this errno code (ENOENT, EMFILE, …). */
export function isErrno(err: unknown, code?: string): err is NodeJS.ErrnoException {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string') return false;
  return code === undefined || err.code === code;
}
