import type { HttpError } from '../../src/api/errors';
import { MultipartGuard, multipartBoundary } from '../../src/api/multipart-guard';

const B = 'guard-b';
const part = (data: string) => `--${B}\r\nContent-Disposition: form-data; name="images"; filename="a.jpg"\r\n\r\n${data}\r\n`;
const CLOSE = `--${B}--`;
const LIMITS = { maxBodyBytes: 10_000, maxPreambleBytes: 64 };

/** What the guard hands busboy and what it refuses, with the body written as the given chunks. */
async function through(chunks: readonly string[], limits = LIMITS): Promise<{ passed: string; refused?: string }> {
  let refused: string | undefined;
  const guard = new MultipartGuard(B, limits, (err: HttpError) => (refused ??= err.code));
  const out: Buffer[] = [];
  guard.on('data', (d: Buffer) => out.push(d));
  const ended = new Promise((resolve) => guard.on('end', resolve));
  for (const c of chunks) guard.write(Buffer.from(c, 'latin1'));
  guard.end();
  await ended;
  return { passed: Buffer.concat(out).toString('latin1'), ...(refused ? { refused } : {}) };
}

/** The body cut in two at every offset: the delimiters' bytes land on every side of a chunk boundary. */
const everySplit = (body: string) => Array.from({ length: body.length + 1 }, (_, i) => [body.slice(0, i), body.slice(i)]);

describe('MultipartGuard', () => {
  it.each<[string, string, string, string | undefined]>([
    ['a well-formed body', `${part('x')}${CLOSE}\r\n`, `${part('x')}${CLOSE}`, undefined],
    ['an epilogue without a delimiter (ignored)', `${part('x')}${CLOSE}\r\njunk --${B}- x`, `${part('x')}${CLOSE}`, undefined],
    ['the close delimiter twice', `${part('x')}${CLOSE}\r\n${CLOSE}\r\n`, `${part('x')}${CLOSE}`, 'MALFORMED_MULTIPART'],
    ['a part after the close delimiter', `${part('x')}${CLOSE}\r\n${part('y')}`, `${part('x')}${CLOSE}`, 'MALFORMED_MULTIPART'],
    ['a close delimiter first', `${CLOSE}\r\n${part('y')}${CLOSE}`, CLOSE, 'MALFORMED_MULTIPART'],
    ['a close delimiter inside a file', `${part(`a\r\n${CLOSE}\r\nb`)}${CLOSE}`, `${part('a').slice(0, -2)}\r\n${CLOSE}`, 'MALFORMED_MULTIPART'],
    ['a dash too few: no close delimiter, all passed', `${part(`a\r\n--${B}-b`)}${CLOSE}`, `${part(`a\r\n--${B}-b`)}${CLOSE}`, undefined],
    ['a small preamble', `hello\r\n${part('x')}${CLOSE}`, `hello\r\n${part('x')}${CLOSE}`, undefined],
  ])('passes %s up to its first close delimiter, at every chunk boundary', async (_name, body, passed, refused) => {
    for (const chunks of everySplit(body)) {
      expect({ chunks, ...(await through(chunks)) }).toEqual({ chunks, passed, ...(refused ? { refused } : {}) });
    }
  });

  it('refuses a preamble over its bound, at every chunk boundary', async () => {
    for (const chunks of everySplit(`${'p'.repeat(65)}\r\n${part('x')}${CLOSE}`)) expect((await through(chunks)).refused).toBe('PAYLOAD_TOO_LARGE');
    for (const chunks of everySplit(`${'p'.repeat(64)}\r\n${part('x')}${CLOSE}`)) expect((await through(chunks)).refused).toBeUndefined();
  });

  it('refuses a body over its limit, epilogue included', async () => {
    const body = `${part('x')}${CLOSE}`;
    expect((await through([body, 'e'.repeat(100)], { ...LIMITS, maxBodyBytes: body.length + 100 })).refused).toBeUndefined();
    expect((await through([body, 'e'.repeat(101)], { ...LIMITS, maxBodyBytes: body.length + 100 })).refused).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('multipartBoundary', () => {
  it.each<[string, string | undefined]>([
    ['multipart/form-data; boundary=abc', 'abc'],
    ['multipart/form-data; BOUNDARY="a b:c"', 'a b:c'],
    ['multipart/form-data; boundary=first; boundary=second', 'first'],
    ['multipart/form-data; x="; boundary=inside"; boundary=real', 'real'],
    ['multipart/form-data; charset=utf-8', undefined],
    ['multipart/form-data; boundary=', undefined],
  ])('reads %s as busboy does', (contentType, boundary) => {
    expect(multipartBoundary(contentType)).toBe(boundary);
  });

  it.each(['multipart/form-data; boundary=""', `multipart/form-data; boundary=${'a'.repeat(71)}`, 'multipart/form-data; boundary="ends in space "', 'multipart/form-data; boundary="a\\"b"'])(
    'refuses %s, a boundary RFC 2046 does not allow, with MALFORMED_MULTIPART',
    (contentType) => {
      expect(() => multipartBoundary(contentType)).toThrow(expect.objectContaining({ code: 'MALFORMED_MULTIPART' }));
    },
  );
});
