import { AppError } from '../../src/core/errors';
import { urlsFromCsv } from '../../src/core/url-list';

const csv = (text: string) => Buffer.from(text, 'utf8');
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return 'accepted';
};

describe('urlsFromCsv', () => {
  it('reads a header, a BOM, CRLF, quoted commas and several URLs per cell, keeping the other columns and each row\'s line', () => {
    const text = '\ufeffsku,Image URLs,title\r\nA1,"https://cdn.example/1.jpg, https://cdn.example/2.jpg?w=1,2",Red\r\n\r\nA2,https://cdn.example/3.jpg,"Blue, large"\r\n';
    expect(urlsFromCsv(csv(text), 100)).toEqual([
      { url: 'https://cdn.example/1.jpg', at: 'line 2', line: 2, row: [['sku', 'A1'], ['title', 'Red']] },
      { url: 'https://cdn.example/2.jpg?w=1,2', at: 'line 2', line: 2, row: [['sku', 'A1'], ['title', 'Red']] },
      { url: 'https://cdn.example/3.jpg', at: 'line 4', line: 4, row: [['sku', 'A2'], ['title', 'Blue, large']] },
    ]);
  });

  it.each([
    ['url'], ['URLs'], ['image_url'], ['Image  URLs'], ['input image urls'], ['INPUT_IMAGE_URLS'],
  ])('finds the URL column by the name %s, wherever it is', (name) => {
    expect(urlsFromCsv(csv(`sku,${name}\nA1,https://cdn.example/1.jpg\n`), 100).map((e) => e.url)).toEqual(['https://cdn.example/1.jpg']);
  });

  it('takes the first column without a header, naming the others column_N, LF line ends', () => {
    expect(urlsFromCsv(csv('https://cdn.example/1.jpg,A1\nhttps://cdn.example/2.jpg,A2'), 100)).toEqual([
      { url: 'https://cdn.example/1.jpg', at: 'line 1', line: 1, row: [['column_2', 'A1']] },
      { url: 'https://cdn.example/2.jpg', at: 'line 2', line: 2, row: [['column_2', 'A2']] },
    ]);
  });

  it('numbers lines after a quoted field holding a CRLF line break (csv-parse alone counts it twice)', () => {
    const entries = urlsFromCsv(csv('url,note\r\nhttps://cdn.example/1.jpg,"two\r\nlines"\r\nnot a url,x\r\n'), 100);
    expect(entries.map((e) => [e.url, e.line])).toEqual([['https://cdn.example/1.jpg', 2], ['not a url', 4]]);
  });

  it.each([
    ['an empty file', '', 'EMPTY_CSV'],
    ['only blank lines', '\r\n\r\n', 'EMPTY_CSV'],
    ['a header without rows', 'sku,url\r\n', 'EMPTY_CSV'],
    ['no URL column under a header', 'sku,title\nA1,Red\nA2,Blue\nB,https://cdn.example/x.jpg\n', 'NO_URL_COLUMN'],
    ['no URL anywhere', 'sku,title\nA1,Red\n', 'NO_URL_COLUMN'],
    ['an unclosed quote', 'url\n"https://cdn.example/1.jpg\n', 'MALFORMED_CSV'],
    ['bytes that are not UTF-8', Buffer.from([0x75, 0x72, 0x6c, 0x0a, 0xff, 0xfe, 0x0a]), 'MALFORMED_CSV'],
    ['more URLs than allowed', `url\n${'https://cdn.example/1.jpg\n'.repeat(4)}`, 'TOO_MANY_URLS'],
    ['more URLs than allowed in one cell', 'url\n"https://cdn.example/1.jpg,https://cdn.example/2.jpg,https://cdn.example/3.jpg,https://cdn.example/4.jpg"\n', 'TOO_MANY_URLS'],
  ])('refuses %s', (_name, text, code) => {
    expect(codeOf(() => urlsFromCsv(typeof text === 'string' ? csv(text) : text, 3))).toBe(code);
  });

  it('keeps an empty URL cell as an entry, so validation reports its line', () => {
    expect(urlsFromCsv(csv('url,sku\nhttps://cdn.example/1.jpg,A\n,B\n'), 100).map((e) => [e.url, e.at])).toEqual([['https://cdn.example/1.jpg', 'line 2'], ['', 'line 3']]);
  });
});
