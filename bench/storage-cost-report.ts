import { f, table } from './markdown';
import type { BenchResults } from './results';

const mark = (h: boolean | undefined) => (h === undefined ? '–' : h ? 'yes' : '**no**');

/** Issue 9: what each upload path costs the API, and end to end with the bucket next to the local disk. */
export function storageSection(r: BenchResults): string[] {
  const s = r.storage;
  if (!s) return [];
  const row = (path: string, driver: string, large: boolean) => s.rows.filter((x) => x.path === path && x.driver === driver).sort((a, b) => (large ? b.imageMB - a.imageMB : a.imageMB - b.imageMB))[0];
  const local = row('multipart', 'local', true);
  const tiny = row('multipart', 'local', false);
  const bucket = row('multipart', 's3', true);
  const directLarge = row('direct', 's3', true);
  const directSmall = row('direct', 's3', false);
  const perImage = (x: typeof local) => (x ? `${f(x.apiCpuMsPerImage, 2)} ms` : 'not measured');
  // The goal, 1 ms per direct upload where a multipart upload cost 8 ms, as a ratio of the two in one run.
  const ratio = directLarge && local ? directLarge.apiCpuMsPerImage / local.apiCpuMsPerImage : Number.NaN;
  const sizeRatio = directLarge && directSmall ? directLarge.apiCpuMsPerImage / directSmall.apiCpuMsPerImage : Number.NaN;
  const targets = [
    ['Direct upload: API CPU per image', `${perImage(directLarge)} (${f(directLarge?.imageMB, 2)} MB); floor, one ranged GET per file with bare node:http: ${f(s.floorCpuMsPerGet, 2)} ms`, '≤ 1 ms (issue 9)', mark(directLarge ? directLarge.apiCpuMsPerImage <= 1 : undefined)],
    ['The same ÷ a multipart upload to the local disk, same run', `${perImage(directLarge)} / ${perImage(local)} = ${f(ratio, 2)}`, '≤ 0.125 (1 ms of the 8 ms the issue measured)', mark(Number.isFinite(ratio) ? ratio <= 0.125 : undefined)],
    ['Direct upload ÷ a multipart upload of a tiny file, same run: the bytes’ share of what remains', directLarge && tiny && tiny !== local ? `${perImage(directLarge)} / ${perImage(tiny)} (${f(tiny.imageMB * 1000, 1)} KB) = ${f(directLarge.apiCpuMsPerImage / tiny.apiCpuMsPerImage, 2)}` : 'not measured', 'reported: 1.0 means the file’s bytes cost the API nothing', '–'],
    ['Direct upload: does not grow with the file', `${f(directLarge?.imageMB, 2)} MB ÷ ${f(directSmall?.imageMB, 2)} MB files: ${f(sizeRatio, 2)}`, 'whatever the file size: ≤ 1.2', mark(Number.isFinite(sizeRatio) ? sizeRatio <= 1.2 : undefined)],
    ['End to end, bucket ÷ local disk (multipart)', bucket && local ? `${f(bucket.e2eImagesPerS, 2)} / ${f(local.e2eImagesPerS, 2)} images/s = ${f(bucket.e2eImagesPerS / local.e2eImagesPerS, 2)}` : 'not measured', 'reported', '–'],
  ];
  return [
    '## Object storage and direct uploads (issue 9)',
    '',
    `Each row, with a fresh API and no worker running: 10 images untimed, then the API's CPU (from /proc) over the next ${s.images} (**cold**: its hot paths still being compiled), ${s.warmUpImages} more untimed, and over the ${s.warmImages} after them (**warm**, the figure the targets use: a running API has compilation behind it); then end to end with one worker over ${s.images} images (first byte sent to queue empty); median of ${s.rows[0]?.rounds.length ?? 0} rounds, each mode with a fresh API. The bucket is s3rver on 127.0.0.1, in the bench's own process; the floor is a separate node:http process making one presigned 64 KB ranged GET per file from the same bucket, which the API's check of a direct upload cannot do without.`,
    '',
    table(['target', 'measured', 'goal', 'holds'], targets),
    '',
    table(
      ['upload path', 'API CPU ms per image, warm', 'cold', 'end to end, images/s', 'rounds (API ms warm, cold; images/s; other load)'],
      s.rows.map((x) => [x.name, f(x.apiCpuMsPerImage, 2), f(x.coldApiCpuMsPerImage, 2), f(x.e2eImagesPerS, 2), x.rounds.map((q) => `${f(q.apiCpuMsPerImage, 2)}, ${f(q.coldApiCpuMsPerImage, 2)}; ${f(q.e2eImagesPerS, 1)}; ${f(q.otherCores, 2)}`).join(' · ')]),
    ),
  ];
}
