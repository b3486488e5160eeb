import { readFileSync, rmSync } from 'node:fs';

/** Stops the redis-server that globalSetup started, and only that one. */
export default async function globalTeardown(): Promise<void> {
  const stateFile = process.env.IMGFLOW_TEST_REDIS_STATE;
  if (!stateFile) return;
  const { pid, dir } = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number; dir: string };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
}
