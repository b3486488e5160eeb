import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** What a process that logs one line with `format` writes to its stdout (a pipe, not a terminal). */
function logOnce(format: string): string {
  const script = `require('./src/logger').createLogger({ level: 'info', name: 'probe', format: '${format}' }).info({ jobId: 'j1' }, 'image processed')`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout;
}

describe('createLogger', () => {
  it.each(['json', 'auto'])('writes one JSON line per entry with format %s when stdout is not a terminal', (format) => {
    const entry: unknown = JSON.parse(logOnce(format).trim());
    expect(entry).toMatchObject({ name: 'probe', msg: 'image processed', jobId: 'j1', level: 30 });
  });

  it('writes readable lines with format pretty', () => {
    const out = logOnce('pretty');
    expect(() => JSON.parse(out)).toThrow();
    expect(out).toMatch(/INFO.*\(probe\).*image processed/);
    expect(out).toMatch(/jobId: "j1"/);
  });
});
