import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImageSniffer } from '../../src/api/image-sniffer';
import { describeAcceptedTypes } from '../../src/core/accepted-types';
import { InFlight } from '../../src/api/in-flight';
import { buildOpenApiDocument, createOpenApiRegistry } from '../../src/api/openapi';
import { uploadsRouter } from '../../src/api/routes/uploads';
import { createLocalFileStore } from '../../src/storage/local-file-store';

const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>');
const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');

/** Streams `bytes` through a sniffer; resolves with the error it fails with, if any. */
async function sniff(bytes: Buffer, allowSvg: boolean): Promise<unknown> {
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  return pipeline(Readable.from([bytes]), new ImageSniffer(allowSvg), sink).then(() => undefined, (err: unknown) => err);
}

describe('describeAcceptedTypes', () => {
  it('lists SVG only when it is allowed', () => {
    expect(describeAcceptedTypes(false)).toBe('JPEG, PNG, GIF, WebP, TIFF or AVIF');
    expect(describeAcceptedTypes(true)).toBe('JPEG, PNG, GIF, WebP, TIFF, AVIF or SVG');
  });
});

describe('ImageSniffer', () => {
  it.each([false, true])('names the accepted types in its error detail (allowSvg %s)', async (allowSvg) => {
    const err = await sniff(pdf, allowSvg);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', detail: `Expected a ${describeAcceptedTypes(allowSvg)} image (checked by content, not by name)` });
  });

  it.each([
    ['a file longer than it', 5000, 1000],
    ['a file shorter than it', 700, 1000],
  ])('keeps the first keepBytes of %s and passes every byte through unchanged', async (_what, length, keep) => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(length - 4, 7)]);
    const chunks = Array.from({ length: Math.ceil(length / 300) }, (_, i) => bytes.subarray(i * 300, (i + 1) * 300));
    const out: Buffer[] = [];
    const sniffer = new ImageSniffer(false, keep);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk);
        done();
      },
    });
    await pipeline(Readable.from(chunks), sniffer, sink);
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    expect(sniffer.head().equals(bytes.subarray(0, keep))).toBe(true);
  });

  it('refuses SVG unless allowed', async () => {
    expect(await sniff(svg, false)).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await sniff(svg, true)).toBeUndefined();
  });
});

describe('the OpenAPI upload descriptions', () => {
  it.each([false, true])('use the same wording as the error detail (allowSvg %s)', (allowSvg) => {
    // The upload routes register their own entries; building them touches no queue.
    const registry = createOpenApiRegistry();
    const uploads = { dir: '/nonexistent', maxFiles: 2, maxFileSizeBytes: 1024, maxInputPixels: 1e6, allowSvg };
    uploadsRouter({ uploads, uploadStore: createLocalFileStore('/nonexistent'), inFlight: new InFlight(), imgflow: { submitBatch: () => Promise.reject(new Error('not called')), checkQueuedFiles: () => Promise.reject(new Error('not called')) } }, registry);
    const doc = buildOpenApiDocument(registry);
    for (const route of ['/upload', '/process-images']) {
      expect(doc.paths?.[route]?.post?.description).toContain(`${describeAcceptedTypes(allowSvg)}, recognised by content`);
    }
  });
});
