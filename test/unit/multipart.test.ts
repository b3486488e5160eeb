import { sanitizeOriginalName } from '../../src/api/multipart';

/** True when the string survives a UTF-8 round trip, i.e. holds no lone surrogate. */
const isWellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

describe('sanitizeOriginalName', () => {
  it.each<[string, string | undefined, string]>([
    ['an ordinary name', 'holiday.jpg', 'holiday.jpg'],
    ['non-ASCII letters', 'café 写真.jpg', 'café 写真.jpg'],
    ['a relative path traversal', '../../etc/passwd', 'passwd'],
    ['an absolute path', '/var/www/uploads/shell.php.jpg', 'shell.php.jpg'],
    ['a Windows path', 'C:\\Users\\me\\..\\evil.jpg', 'evil.jpg'],
    ['mixed separators', '..\\../..\\x.png', 'x.png'],
    ['a NUL byte', 'photo.jpg\u0000.exe', 'photo.jpg.exe'],
    ['newlines (log injection)', 'a\r\nINFO fake log line.jpg', 'aINFO fake log line.jpg'],
    ['an RTL override', 'invoice\u202egpj.exe', 'invoicegpj.exe'],
    ['bidi isolates and marks', '\u2067abc\u2069\u200f.jpg', 'abc.jpg'],
    ['C1 control characters', 'a\u0085b\u009bc.jpg', 'abc.jpg'],
    ['surrounding whitespace', '  spaced.jpg  ', 'spaced.jpg'],
    ['no name', undefined, 'unnamed'],
    ['an empty name', '', 'unnamed'],
    ['a path ending in a separator', 'dir/', 'unnamed'],
    ['only control characters', '\u0000\u202e\n', 'unnamed'],
  ])('handles %s', (_name, input, expected) => {
    expect(sanitizeOriginalName(input)).toBe(expected);
  });

  it.each<[string, string]>([
    ['ASCII', 'a'.repeat(10 * 1024) + '.jpg'],
    ['astral characters (surrogate pairs)', '😀'.repeat(5 * 1024)],
    ['a surrogate pair straddling the limit', 'a'.repeat(254) + '😀😀'],
  ])('cuts a 10 KB name of %s to at most 255 UTF-16 units without splitting a character', (_name, input) => {
    const clean = sanitizeOriginalName(input);
    expect(clean.length).toBeGreaterThan(200);
    expect(clean.length).toBeLessThanOrEqual(255);
    expect(isWellFormed(clean)).toBe(true);
  });
});
