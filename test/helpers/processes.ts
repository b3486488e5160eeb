import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './redis';
import type { TestWorld } from './stack';

const ROOT = path.resolve(__dirname, '../..');
/** By file URL, so a process started in another working directory still finds the loader. */
const TSX = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (pino JSON lines). */
  output(): string;
  /** Resolves with the exit code (or the signal) once the process is gone. */
  exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/**
 * Runs src/<role>/main.ts from source, as a separate process with the world's environment;
 * in the repository unless `cwd` names another working directory (a machine of its own).
 */
export function startProcess(role: 'api' | 'worker', env: Record<string, string>, cwd = ROOT): ServiceProcess {
  const child = spawn(process.execPath, ['--import', TSX, path.join(ROOT, 'src', role, 'main.ts')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal as NodeJS.Signals))));
  return {
    child,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface ApiProcess extends ServiceProcess {
  readonly baseUrl: string;
}

/** Starts the API on a free port and waits until /healthz answers. */
export async function startApiProcess(world: TestWorld, env: Record<string, string> = {}, cwd?: string): Promise<ApiProcess> {
  const port = await freePort();
  const proc = startProcess('api', { ...world.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, cwd);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`API did not start:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...proc, baseUrl };
}

/** Starts a worker process and waits until it logs that it started. */
export async function startWorkerProcess(world: TestWorld, env: Record<string, string> = {}, cwd?: string): Promise<ServiceProcess> {
  const proc = startProcess('worker', { ...world.env, LOG_LEVEL: 'info', ...env }, cwd);
  const deadline = Date.now() + 20_000;
  while (!proc.output().includes('"worker started"')) {
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`worker did not start:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return proc;
}
