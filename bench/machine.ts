import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import sharp from 'sharp';
import { JEMALLOC_PATH } from './stack';

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGB: number;
  readonly kernel: string;
  readonly node: string;
  readonly sharp: string;
  readonly libvips: string;
  readonly redis: string;
  readonly jemalloc: string | null;
}

export function describeMachine(): MachineInfo {
  let redis = 'not found';
  try {
    redis = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    // reported as not found
  }
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    redis,
    jemalloc: JEMALLOC_PATH ?? null,
  };
}
