/**
 * Redis keys of direct uploads (POST /uploads), shared by the API, which writes them, and the
 * workers' orphan sweep, which keeps every object a live session still names.
 */
export const directUploadKey = (prefix: string, uploadId: string) => `${prefix}:direct-upload:${uploadId}`;

/** Held while its session is, so the file's object is not taken for an orphan before the session completes or expires. */
export const directUploadFileKey = (prefix: string, fileId: string) => `${prefix}:direct-upload-file:${fileId}`;
