/** The store could not be reached or answered with a server error: worth retrying, never the client's fault. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
  readonly code = 'STORAGE_UNAVAILABLE';
}

/** By shape, not instanceof: errors made in another realm (jest's sandbox) fail that test. */
export function isStorageUnavailable(err: unknown): err is StorageUnavailableError {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = 'cause' in e ? e.cause : undefined, depth++) {
    if ('name' in e && e.name === 'StorageUnavailableError') return true;
  }
  return false;
}
