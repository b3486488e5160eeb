import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** True once the process has exited. */
  exited(): boolean;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ProcessGroup {
  /** Starts a process whose stdout and stderr go to `logFile`. */
  start(name: string, command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; logFile: string; cwd?: string }): ManagedProcess;
  /** Takes over a process started elsewhere, so it is stopped with the rest. */
  adopt(name: string, child: ChildProcess): ManagedProcess;
  livePids(): number[];
  stopAll(): Promise<void>;
  /** Synchronous SIGKILL of whatever is still running: for process 'exit' handlers. */
  killAllNow(): void;
}

function manage(name: string, child: ChildProcess, members: Set<ManagedProcess>): ManagedProcess {
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const done = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    child,
    exited,
    stop: async (graceMs = 15_000) => {
      if (!exited()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await done;
        clearTimeout(timer);
      }
      members.delete(managed);
    },
  };
  members.add(managed);
  return managed;
}

/** Every process the bench starts, so each is stopped by its own pid when the bench ends or fails. */
export function createProcessGroup(): ProcessGroup {
  const members = new Set<ManagedProcess>();
  return {
    start(name, command, args, { env, logFile, cwd }) {
      const log = openSync(logFile, 'a');
      try {
        return manage(name, spawn(command, args, { env, cwd, stdio: ['ignore', log, log] }), members);
      } finally {
        closeSync(log); // the child holds its own copy of the descriptor
      }
    },
    adopt: (name, child) => manage(name, child, members),
    livePids: () => [...members].filter((m) => !m.exited()).map((m) => m.pid),
    stopAll: async () => {
      await Promise.all([...members].map((m) => m.stop()));
    },
    killAllNow: () => {
      for (const m of members) if (!m.exited()) m.child.kill('SIGKILL');
    },
  };
}
