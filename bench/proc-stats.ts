import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcSample {
  /** utime + stime of the process itself, in seconds. */
  readonly cpuS: number;
  /** The same plus its reaped children (cutime + cstime). */
  readonly treeCpuS: number;
  readonly rssMB: number;
  /** Peak resident set size over the process's life (VmHWM). */
  readonly hwmMB: number;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

const statusField = (status: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) / 1024;

/** CPU and memory of one process from /proc; undefined once it has gone. */
export function readProc(pid: number | 'self'): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hz = clockTicks();
    const own = ((fields[11] ?? 0) + (fields[12] ?? 0)) / hz;
    return {
      cpuS: own,
      treeCpuS: own + ((fields[13] ?? 0) + (fields[14] ?? 0)) / hz,
      rssMB: statusField(status, 'VmRSS'),
      hwmMB: statusField(status, 'VmHWM'),
    };
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine (all cores) since boot, from /proc/stat. */
export function readMachineBusyS(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / clockTicks();
}

export interface LoadMeter {
  /** Cores' worth of CPU used by processes that are not ours since the meter started. */
  otherCores(): number;
}

/**
 * How busy the rest of the machine was during a phase: the machine's busy time minus this
 * process, its reaped children and the live children named by `pids()`. Other helpers running
 * tests on the same cores show up here, so a slow figure can be told apart from a slow service.
 */
export function startLoadMeter(pids: () => readonly number[]): LoadMeter {
  const ours = () => (readProc('self')?.treeCpuS ?? 0) + pids().reduce((sum, pid) => sum + (readProc(pid)?.treeCpuS ?? 0), 0);
  const busy0 = readMachineBusyS();
  const ours0 = ours();
  const t0 = performance.now();
  return {
    otherCores: () => {
      const wallS = (performance.now() - t0) / 1000;
      return wallS > 0 ? Math.max(0, readMachineBusyS() - busy0 - (ours() - ours0)) / wallS : 0;
    },
  };
}
