/** What GET /limits reports. */
export interface UploadLimits {
  readonly maxFiles: number;
  readonly maxFileSizeBytes: number;
  readonly maxInputPixels: number;
  readonly acceptedTypes: readonly string[];
}

/** The part of a File the checks read, so they run without a browser. */
export interface FileFacts {
  readonly name: string;
  readonly size: number;
  readonly type: string;
}

export type FileVerdict = { readonly ok: true } | { readonly ok: false; readonly code: 'FILE_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'EMPTY_FILE' };

/**
 * The checks the page can make before sending, with the codes the server would answer: a type
 * the browser names and the server does not accept, a file over the size limit, an empty file.
 * A file whose type the browser cannot name goes on to the server, which judges by content.
 */
export function checkFile(file: FileFacts, limits: UploadLimits): FileVerdict {
  if (file.type !== '' && !limits.acceptedTypes.includes(file.type)) return { ok: false, code: 'UNSUPPORTED_MEDIA_TYPE' };
  if (file.size === 0) return { ok: false, code: 'EMPTY_FILE' };
  if (file.size > limits.maxFileSizeBytes) return { ok: false, code: 'FILE_TOO_LARGE' };
  return { ok: true };
}
