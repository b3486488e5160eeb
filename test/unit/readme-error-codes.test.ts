import { readFileSync } from 'node:fs';
import path from 'node:path';
import { problems } from '../../src/api/errors';

const ROOT = path.resolve(__dirname, '../..');

/** The rows of the README's table under "### Errors": code → status, as written there. */
function readmeErrorTable(): Record<string, number> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /^### Errors\n([\s\S]*?)(?=^#{1,3} )/m.exec(readme)?.[1] ?? '';
  const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)];
  return Object.fromEntries(rows.map((m) => [m[1] as string, Number(m[2])]));
}

/** The codes a use case can refuse with: the AppErrorCode union, read as text because it is a type. */
function coreErrorCodes(): string[] {
  const text = readFileSync(path.join(ROOT, 'src/core/errors.ts'), 'utf8');
  const union = /type AppErrorCode =([^;]+);/.exec(text)?.[1] ?? '';
  return [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1] as string);
}

describe('the README\'s error-code table', () => {
  const table = readmeErrorTable();

  it('lists every code of src/api/errors.ts with its status, and no other', () => {
    const catalogue = Object.fromEntries(Object.entries(problems).map(([code, { status }]) => [code, status]));
    expect(table).toEqual(catalogue);
  });

  it('lists every code a use case can refuse with', () => {
    const codes = coreErrorCodes();
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((code) => !(code in table))).toEqual([]);
  });
});
