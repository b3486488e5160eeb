import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchResults } from '../../bench/results';

const REPO = path.resolve(__dirname, '../..');

function runBench(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench/main.ts'), ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'imgflow-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The bench builds dist/ if stale, starts its own Redis, API and worker, and runs the Sharp
  // limit in child processes: about 20 s on an idle 2-core machine, more when it is shared.
  it('measures the limit, the bare receiver, end to end with a profile and the API against the receiver, completes every accepted file and writes the report', async () => {
    const out = path.join(dir, 'BENCHMARKS.md');
    const json = path.join(dir, 'results.json');
    const { code, stderr } = await runBench(['--quick', '--phases', 'limit,e2e,ingest', '--profile', '--out', out, '--json', json]);
    expect({ code, stderr: code === 0 ? '' : stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });

    const results = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
    expect(results.failures).toEqual([]);
    expect(results.limit?.rows.every((r) => r.errors === 0 && r.imagesPerS > 0)).toBe(true);
    const e2e = results.e2e;
    expect(e2e).toMatchObject({ sent: results.corpus?.files, accepted: results.corpus?.files, rejected: 0, failed: 0, lost: 0, timedOut: false, endTimedBy: 'redis finishedOn' });
    expect(e2e?.completed).toBe(e2e?.accepted);
    expect(e2e?.processes.map((p) => p.name)).toEqual(['api', 'worker', 'redis', 'bench client']);

    // The bare receiver took the same bodies; the profile holds the API's frames of the end-to-end run.
    expect(results.receiver).toMatchObject({ sent: results.corpus?.files, accepted: results.corpus?.files });
    expect(results.receiver?.cpuMsPerMB).toBeGreaterThan(0);
    expect(results.ingest?.ratio).toBeGreaterThan(0);
    expect(results.apiProfile?.busyMs).toBeGreaterThan(0);
    expect(results.apiProfile?.top.length).toBeGreaterThan(0);

    expect(existsSync(out)).toBe(true);
    const report = readFileSync(out, 'utf8');
    expect(report).toContain('# imgflow benchmarks');
    expect(report).toContain('API CPU per uploaded MB ÷ the bare receiver’s');
    expect(report).toContain("### Where the API's CPU goes");
    expect(report).toContain(`accepted ${e2e?.accepted}, completed ${e2e?.completed}, failed 0, lost 0`);
  }, 120_000);
});
