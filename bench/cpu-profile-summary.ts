// Top frames by self time of a V8 .cpuprofile (what `node --cpu-prof` writes), and the same
// time by where the code lives (a package under node_modules, Node's own, the service's dist/).
// CLI: npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [N [FROM_MS TO_MS]]
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame; readonly children?: readonly number[] }[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileFrame {
  readonly name: string;
  /** Where it lives: package, `node:` internal, or a path under dist/. */
  readonly where: string;
  readonly selfMs: number;
  /** Share of the profile's busy time (idle left out). */
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** The part of the profile summed, in ms after it started; the whole profile when absent. */
  readonly window?: { readonly fromMs: number; readonly toMs: number } | undefined;
  /** Sampled time with the thread not idle. */
  readonly busyMs: number;
  readonly top: readonly ProfileFrame[];
  readonly byOrigin: readonly { readonly origin: string; readonly selfMs: number; readonly share: number }[];
}

/** The package of a frame's script, `node:` for Node's own, `imgflow` for the service's code, or V8's pseudo-frames as they are. */
function originOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node:' + (url.slice(5).split('/')[0] ?? '');
  return 'imgflow';
}

function shortUrl(url: string, line: number): string {
  const at = url.lastIndexOf('node_modules/');
  const tail = at >= 0 ? url.slice(at + 'node_modules/'.length) : url.replace(/^file:\/\/.*?\/dist\//, 'dist/');
  return tail ? `${tail}:${line + 1}` : '';
}

/**
 * Sums each sample's time onto the frame it was taken in; `(idle)` is left out of the shares.
 * `window` (ms after the profile started, which is the process's start) keeps start-up and
 * shutdown out of a profile taken with --cpu-prof.
 */
export function summarizeCpuProfile(file: string, topN = 25, window?: { fromMs: number; toMs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  // A native frame (a write, a syscall) says little alone: it is shown with the JavaScript that called it.
  const callerOf = (id: number) => {
    const parent = parents.get(id);
    const frame = parent === undefined ? undefined : frames.get(parent);
    return frame?.url ? `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url, frame.lineNumber)}` : undefined;
  };
  const self = new Map<string, { frame: CallFrame; caller: string | undefined; us: number }>();
  let busyUs = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (window && (at < window.fromMs * 1000 || at > window.toMs * 1000)) return;
    if (!frame || frame.functionName === '(idle)') return;
    busyUs += us;
    const caller = frame.url || frame.functionName.startsWith('(') ? undefined : callerOf(id);
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}|${caller ?? ''}`;
    const entry = self.get(key) ?? { frame, caller, us: 0 };
    entry.us += us;
    self.set(key, entry);
  });
  const byOrigin = new Map<string, number>();
  for (const { frame, us } of self.values()) {
    const origin = originOf(frame.url, frame.functionName);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const share = (us: number) => (busyUs ? us / busyUs : 0);
  return {
    file,
    window,
    busyMs: busyUs / 1000,
    top: [...self.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map(({ frame, caller, us }) => ({
        name: frame.functionName || '(anonymous)',
        where: shortUrl(frame.url, frame.lineNumber) || (caller ? `native, from ${caller}` : originOf(frame.url, frame.functionName)),
        selfMs: us / 1000,
        share: share(us),
      })),
    byOrigin: [...byOrigin.entries()].sort((a, b) => b[1] - a[1]).map(([origin, us]) => ({ origin, selfMs: us / 1000, share: share(us) })),
  };
}

if (require.main === module) {
  const [file, n, from, to] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [N [FROM_MS TO_MS]]\n');
    process.exit(2);
  }
  const s = summarizeCpuProfile(file, Number(n ?? 25), from && to ? { fromMs: Number(from), toMs: Number(to) } : undefined);
  process.stdout.write(`${s.file}: ${s.busyMs.toFixed(0)} ms busy\n\nself ms  share  frame\n`);
  for (const t of s.top) process.stdout.write(`${t.selfMs.toFixed(1).padStart(7)}  ${(t.share * 100).toFixed(1).padStart(4)}%  ${t.name}  ${t.where}\n`);
  process.stdout.write('\nself ms  share  origin\n');
  for (const o of s.byOrigin) process.stdout.write(`${o.selfMs.toFixed(1).padStart(7)}  ${(o.share * 100).toFixed(1).padStart(4)}%  ${o.origin}\n`);
}
