import { summarizeDrains } from './drain';
import { f, table } from './markdown';
import { SHARED_VARIANTS, type PresetRow, type VariantsRow } from './presets';
import type { BenchResults } from './results';
import type { Cost } from './alternate';

/** Published figure: the service default's drain / adjacent limit in the last run before presets (BENCHMARKS.md of 2026-11-23). */
export const DRAIN_RATIO_BEFORE_PRESETS = 0.91;
/** Issue 7's goals: the default within 2% of before, and three variants from one decode ≤ 1.6 × the default alone. */
const DEFAULT_GOAL = 1.02;
const VARIANTS_GOAL = 1.6;

const perS = (c: Cost) => f(1000 / c.wallMs, 2);
const yesNo = (holds: boolean) => (holds ? 'yes' : '**no**');

function presetRow(row: PresetRow): string[] {
  const ratio = row.worker.cpuMs / row.alone.cpuMs;
  const passes = row.passRatios.length > 1 ? ` (passes ${f(Math.min(...row.passRatios), 3)}–${f(Math.max(...row.passRatios), 3)})` : '';
  return [row.label, String(row.images), perS(row.worker), perS(row.alone), f(row.worker.cpuMs, 1), f(row.alone.cpuMs, 1), `${f(ratio, 3)}${passes}`, `${row.identical}/${row.images}`, f(row.otherCores, 2)];
}

function variantsRows(v: VariantsRow): string[][] {
  const base = v.defaultAlone.cpuMs;
  const line = (what: string, c: Cost | undefined, goal = '') => [`${v.images} ${v.kind}s`, what, f(c?.cpuMs, 1), f((c?.cpuMs ?? Number.NaN) / base, 2), goal];
  const others = SHARED_VARIANTS.filter((n) => n !== 'default').reduce((sum, n) => sum + (v.encodes[n]?.cpuMs ?? Number.NaN), 0);
  const oneJob = v.oneJob.cpuMs / base;
  return [
    line('`default` alone', v.defaultAlone),
    line(`one job, \`variants=${SHARED_VARIANTS.join(',')}\``, v.oneJob, `≤ ${VARIANTS_GOAL}: ${yesNo(oneJob <= VARIANTS_GOAL)}`),
    line('three jobs, one per preset (the naive way)', v.threeJobs),
    line('step: header + one decode to the shared pixels', v.decode),
    ...SHARED_VARIANTS.map((n) => line(`step: \`${n}\` resize + encode from those pixels`, v.encodes[n])),
    [`${v.images} ${v.kind}s`, 'the extra: `thumbnail` + `web` resize + encode alone', f(others, 1), f(others / base, 2), `goal needs ≤ ${f(VARIANTS_GOAL - 1, 1)}: ${yesNo(others / base <= VARIANTS_GOAL - 1)}`],
  ];
}

/** Issue 7's rows: presets and formats against Sharp alone, and the shared decode of variants. */
export function presetsSection(r: BenchResults): string[] {
  const p = r.presets;
  if (!p) return [];
  const lines = [
    '## Presets, output formats and variants against Sharp alone (issue 7)',
    '',
    `Each row alternates, image by image in the bench process, \`transformImage\` with the spec the API queues for that request (what \`processStoredImage\` runs between reading the upload and writing the outputs, which both sides would pay alike) and Sharp alone: the shortest hand-written chain with the same settings. One image at a time on one libvips thread, Sharp's cache off, as the worker runs; CPU from process.cpuUsage() around each image, images/s from its wall time. The default row is against the chain the worker ran before presets existed, over ${p.rows[0]?.passRatios.length ?? 1} pass(es) of the corpus. Format rows: the default preset's 512 px width in colour (\`options={"format":F,"grayscale":false}\`), each format at its default quality. AVIF rows on every ${p.avifEvery}th corpus file only. "same bytes": images whose two outputs were identical.`,
    '',
    table(['output', 'images', 'worker images/s', 'Sharp alone images/s', 'worker CPU ms/image', 'Sharp alone CPU ms/image', 'CPU × Sharp alone', 'same bytes', 'other load'], p.rows.map(presetRow)),
  ];
  const def = p.rows[0];
  if (def) {
    const ratio = def.worker.cpuMs / def.alone.cpuMs;
    lines.push('', `Default preset against before presets (goal ≤ ${DEFAULT_GOAL} ×): ${f(ratio, 3)} × the old chain's CPU, ${yesNo(ratio <= DEFAULT_GOAL)}.`);
  }
  const drain = r.drain?.[0];
  if (drain) {
    const now = summarizeDrains(drain).ratioToAdjacentLimit;
    lines.push(`Drain of the service default in this run: ${f(now, 2)} × the adjacent limit, against ${DRAIN_RATIO_BEFORE_PRESETS} before presets (${f((now / DRAIN_RATIO_BEFORE_PRESETS - 1) * 100, 1)}%).`);
  }
  lines.push(
    '',
    `Variants from one decode: every job below on the same image in turn, CPU ms per image and × \`default\` alone. The steps are the one-decode job taken apart (the decode transformVariants makes, then each variant's hand-written chain from its raw pixels); the last row is what the two variants beyond \`default\` cost on their own from pixels already decoded: a job making all three does the default's work plus that much, whatever it shares, so the goal is within reach only if it is ≤ ${f(VARIANTS_GOAL - 1, 1)} × \`default\` alone.`,
    '',
    table(['inputs', 'job', 'CPU ms/image', '× default alone', `goal ≤ ${VARIANTS_GOAL}`], p.variants.flatMap(variantsRows)),
  );
  return lines;
}
