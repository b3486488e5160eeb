import { IMAGE_TYPES, mimeTypeOf } from '../../src/pipeline';
import { URL_FAILURES } from '../../src/queue/url-failures';
import type { InvalidImageCode } from '../../src/pipeline/errors';
import { problems } from '../../src/api/errors';
import { checkFile } from '../../src/web/client/check-files';
import { FAILURE_SENTENCES, failureSentence, PROBLEM_SENTENCES, problemSentence } from '../../src/web/client/messages';

// A Record, so a new InvalidImageCode fails the type check until it is listed (and given a sentence).
const INVALID_IMAGE_CODES: Record<InvalidImageCode, true> = {
  UNSUPPORTED_TYPE: true, CORRUPT_IMAGE: true, TOO_MANY_PIXELS: true, TOO_MANY_FRAMES: true, OUTPUT_TOO_LARGE: true, INPUT_MISSING: true,
};
// Plus what the processor itself prefixes (src/worker/processor.ts).
const WORKER_CODES = [...Object.keys(INVALID_IMAGE_CODES), ...Object.keys(URL_FAILURES), 'INVALID_JOB_DATA', 'OUTPUT_WRITE_FAILED', 'PROCESSING_FAILED'];

describe('the page\'s sentences for errors', () => {
  it.each(Object.keys(problems))('has a sentence for the API code %s', (code) => {
    expect(PROBLEM_SENTENCES[code]).toBeDefined();
  });

  it.each(WORKER_CODES)('has a sentence for the worker failure %s', (code) => {
    expect(failureSentence(`${code}: something technical`)).toBe(FAILURE_SENTENCES[code]);
  });

  it('puts the server\'s limits into the sentences that need them', () => {
    expect(problemSentence('FILE_TOO_LARGE', { maxFileSizeBytes: 20 * 1024 * 1024 })).toBe('This file is too large (at most 20 MB per file).');
    expect(problemSentence('TOO_MANY_FILES', { maxFiles: 10 })).toContain('at most 10 per upload');
  });

  it('says something plain for a reason it does not know', () => {
    expect(failureSentence('job stalled more than allowable limit')).toBe('This image could not be processed.');
    expect(failureSentence(null)).toBe('This image could not be processed.');
  });
});

describe('checkFile', () => {
  const limits = { maxFiles: 10, maxFileSizeBytes: 1000, maxInputPixels: 1e6, acceptedTypes: IMAGE_TYPES.filter((t) => t !== 'svg').map(mimeTypeOf) };
  it.each([
    ['a JPEG within the limit', { name: 'a.jpg', size: 999, type: 'image/jpeg' }, { ok: true }],
    ['a file the browser cannot name (the server sniffs it)', { name: 'a.heic', size: 10, type: '' }, { ok: true }],
    ['a text file', { name: 'a.txt', size: 10, type: 'text/plain' }, { ok: false, code: 'UNSUPPORTED_MEDIA_TYPE' }],
    ['an SVG on a server without ALLOW_SVG', { name: 'a.svg', size: 10, type: 'image/svg+xml' }, { ok: false, code: 'UNSUPPORTED_MEDIA_TYPE' }],
    ['a file over the size limit', { name: 'a.png', size: 1001, type: 'image/png' }, { ok: false, code: 'FILE_TOO_LARGE' }],
    ['an empty file', { name: 'a.png', size: 0, type: 'image/png' }, { ok: false, code: 'EMPTY_FILE' }],
  ])('judges %s', (_what, file, verdict) => {
    expect(checkFile(file, limits)).toEqual(verdict);
  });
});
