/** One part of a hand-built multipart body. */
export interface Part {
  readonly name: string;
  /** Written between quotes exactly as given: no escaping, so a test can send what a browser never would. */
  readonly filename?: string;
  /** Replaces the whole Content-Disposition value, e.g. to send an RFC 5987 `filename*=`. */
  readonly disposition?: string;
  readonly contentType?: string;
  readonly data: Buffer | string;
}

export const multipartType = (boundary: string): string => `multipart/form-data; boundary=${boundary}`;

/**
 * A multipart/form-data body built byte by byte, for the cases supertest's form builder
 * refuses to produce or quietly repairs (raw NUL or CR LF in a name, UTF-8 names, odd parts).
 */
export function multipartBody(boundary: string, parts: readonly Part[]): Buffer {
  const chunks = parts.flatMap((p) => {
    const disposition = p.disposition ?? `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    const headers = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.contentType ? `Content-Type: ${p.contentType}\r\n` : ''}\r\n`;
    return [Buffer.from(headers, 'utf8'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, 'utf8'), Buffer.from('\r\n')];
  });
  return Buffer.concat([...chunks, Buffer.from(`--${boundary}--\r\n`)]);
}
