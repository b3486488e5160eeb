import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');

export interface CreatedKey {
  readonly key: string;
  readonly entry: { readonly id: string; readonly name: string; readonly sha256: string };
  readonly env: string;
}

/** Runs `imgflow keys create NAME --json` from source, as an operator would, and returns what it printed. */
export async function createKey(name: string): Promise<CreatedKey> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'keys', 'create', name, '--json'], { cwd: ROOT });
  return JSON.parse(stdout) as CreatedKey;
}
