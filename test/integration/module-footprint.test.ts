import { execFileSync } from 'node:child_process';
import path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

/** The packages loaded once both composition roots are imported, in a fresh Node process. */
function packagesLoadedBy(...modules: string[]): string[] {
  const script = `${modules.map((m) => `require(${JSON.stringify(path.join(REPO, m))});`).join('')}
    const names = Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean);
    process.stdout.write(JSON.stringify([...new Set(names)]));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, encoding: 'utf8' })) as string[];
}

// Each is a fresh process started from source (tsx).
jest.setTimeout(60_000);

describe('what a process on the local disk loads', () => {
  it('leaves the AWS SDK and bull-board unloaded until a bucket or ADMIN_TOKEN asks for them', () => {
    const loaded = packagesLoadedBy('src/api/compose.ts', 'src/worker/compose.ts');
    expect(loaded).toContain('bullmq'); // the check sees packages at all
    expect(loaded.filter((name) => name.startsWith('@aws-sdk/') || name.startsWith('@bull-board/'))).toEqual([]);
  });

  it('loads them where they are used', () => {
    const loaded = packagesLoadedBy('src/storage/s3-file-store.ts', 'src/api/queue-dashboard.ts');
    expect(loaded).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', '@bull-board/api']));
  });
});
