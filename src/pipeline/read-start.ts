import { open } from 'node:fs/promises';

/** The first `bytes` of a file (fewer when it is shorter): enough for magic bytes or a header. */
export async function readFileStart(filePath: string, bytes: number): Promise<Buffer> {
  const file = await open(filePath, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}
