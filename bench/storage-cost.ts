import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import sharp from 'sharp';
import { createS3Client, createS3FileStore } from '../src/storage/s3-file-store';
import { startS3Server, type S3Server } from '../test/helpers/s3-server';
import { createProcessGroup, type ProcessGroup } from './process-group';
import { readProc, startLoadMeter } from './proc-stats';
import { waitForEmptyQueue } from './queue-state';
import { createInspector, createServiceWorld, startApi, startPrivateRedis, startWorker, type RunningApi } from './stack';
import { median } from './stats';

/**
 * Issue 9's rows: the API's CPU per image for a multipart upload to the local disk, the same
 * upload streamed into a bucket, and a direct upload (POST /uploads, PUTs to the bucket,
 * complete), with no worker running; then end to end (first byte sent to queue empty) with a
 * worker, local disk against the bucket. A real S3 server (s3rver, in this process) on
 * 127.0.0.1, the services from dist/. The floor is what a direct upload's check cannot do
 * without: one ranged GET per file, made with bare node:http in a process of its own.
 */

export interface StorageCostRow {
  readonly name: string;
  readonly path: 'multipart' | 'direct';
  readonly driver: 'local' | 's3';
  readonly imageMB: number;
  /** Medians over the rounds, and each round's figure: the API's CPU per image once warm, and over its first images. */
  readonly apiCpuMsPerImage: number;
  readonly coldApiCpuMsPerImage: number;
  readonly e2eImagesPerS: number;
  readonly rounds: readonly { readonly apiCpuMsPerImage: number; readonly coldApiCpuMsPerImage: number; readonly e2eImagesPerS: number; readonly otherCores: number }[];
}

export interface StorageCostResult {
  readonly images: number;
  /** Images sent untimed after the cold ones, then timed for the warm figure. */
  readonly warmUpImages: number;
  readonly warmImages: number;
  readonly rows: readonly StorageCostRow[];
  /** One ranged 64 KB GET from the same bucket, bare node:http: CPU ms per GET (median of the rounds). */
  readonly floorCpuMsPerGet: number;
}

async function multipart(api: RunningApi, image: Buffer, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 10) {
    const form = new FormData();
    for (let i = sent; i < Math.min(count, sent + 10); i++) form.append('images', new Blob([image], { type: 'image/jpeg' }), `photo-${i}.jpg`);
    const res = await fetch(new URL('/process-images', api.base), { method: 'POST', body: form });
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  }
}

async function direct(api: RunningApi, image: Buffer, count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += 10) {
    const files = Array.from({ length: Math.min(10, count - sent) }, (_, i) => ({ name: `photo-${sent + i}.jpg`, size: image.length, contentType: 'image/jpeg' }));
    const started = await fetch(new URL('/uploads', api.base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files }) });
    const { uploadId, files: urls } = (await started.json()) as { uploadId: string; files: { url: string; headers: Record<string, string> }[] };
    await Promise.all(urls.map((f) => fetch(f.url, { method: 'PUT', headers: f.headers, body: image }).then((r) => r.arrayBuffer())));
    const done = await fetch(new URL(`/uploads/${uploadId}/complete`, api.base), { method: 'POST' });
    if (done.status !== 202) throw new Error(`complete answered ${done.status}: ${await done.text()}`);
  }
}

/** Photo-like JPEGs: noise does not compress, so the size is what a camera's would be. */
const noisy = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#7a5', noise: { type: 'gaussian', mean: 110, sigma: 30 } } }).jpeg({ quality: 88 }).toBuffer();

async function measureFloor(s3: S3Server, image: Buffer, gets: number, dir: string): Promise<number> {
  const client = createS3Client({ endpoint: s3.endpoint, region: s3.env.S3_REGION ?? 'us-east-1', bucket: s3.bucket, prefix: '', accessKeyId: s3.env.S3_ACCESS_KEY_ID, secretAccessKey: s3.env.S3_SECRET_ACCESS_KEY, forcePathStyle: true, urlTtlSeconds: 600 });
  try {
    const store = createS3FileStore(client, { bucket: s3.bucket, keyPrefix: 'floor/', urlTtlSeconds: 600 });
    await store.write('photo.jpg', image);
    const urls = await Promise.all(Array.from({ length: gets }, () => store.signGet?.('photo.jpg', { contentType: 'image/jpeg', contentDisposition: 'inline' })));
    const list = path.join(dir, 'floor-urls.txt');
    writeFileSync(list, urls.join('\n'));
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, 'ranged-get-floor.cjs'), list]);
    return (JSON.parse(stdout) as { cpuMsPerGet: number }).cpuMsPerGet;
  } finally {
    client.destroy();
  }
}

export async function measureStorageCost(options: {
  readonly group: ProcessGroup;
  /** Per row: the cold figure and the end-to-end run. */
  readonly images: number;
  /** The warm figure: `warmImages` timed after `warmUpImages` more untimed, so JIT compilation is behind. */
  readonly warmUpImages: number;
  readonly warmImages: number;
  readonly rounds: number;
  readonly only?: string | undefined;
  readonly nodeArgs?: readonly string[];
  readonly log: (line: string) => void;
}): Promise<StorageCostResult> {
  const { group, images, warmUpImages, warmImages, rounds, log } = options;
  // About 2.5 MB (the size the figure is for) and a tenth of that: a direct upload's API cost should not depend on the size.
  const photo = await noisy(2600, 1800);
  const small = await noisy(820, 570);
  // What the API spends on a file apart from its bytes: parsing, checking, recording, queueing.
  const tiny = await noisy(40, 30);
  const root = mkdtempSync(path.join(tmpdir(), 'imgflow-bench-storage-'));
  const redis = await startPrivateRedis(group);
  const s3 = await startS3Server();
  const mb = (image: Buffer) => image.length / 1e6;
  const size = (image: Buffer) => (image.length < 1e5 ? `${(image.length / 1e3).toFixed(1)} KB` : `${mb(image).toFixed(2)} MB`);
  const modes = (
    [
      { path: 'multipart', driver: 'local', image: photo, send: multipart },
      { path: 'multipart', driver: 'local', image: tiny, send: multipart },
      { path: 'multipart', driver: 's3', image: photo, send: multipart },
      { path: 'direct', driver: 's3', image: photo, send: direct },
      { path: 'direct', driver: 's3', image: small, send: direct },
    ] as const
  )
    .map((m) => ({ ...m, name: `${m.path === 'direct' ? 'direct upload' : 'multipart'}, ${m.driver === 'local' ? 'local disk' : 'bucket'}, ${size(m.image)}` }))
    .filter((m) => !options.only || m.name.includes(options.only));
  const measured = new Map<string, StorageCostRow['rounds'][number][]>();
  const floors: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        const env: Record<string, string> = { ...(mode.driver === 's3' ? s3.env : {}), MAX_FILE_SIZE_MB: '5' };
        const world = createServiceWorld({ dataRoot: path.join(root, 'data'), logRoot: path.join(root, 'logs') }, redis.url, `${round}-${mode.name.replace(/\W+/g, '-')}`, 'warn');
        const inspector = createInspector(world);
        const api = await startApi(group, world, 'api', env, options.nodeArgs);
        try {
          const cpuMsPerImage = async (count: number) => {
            const before = readProc(api.process.pid)?.cpuS ?? 0;
            await mode.send(api, mode.image, count);
            return (((readProc(api.process.pid)?.cpuS ?? 0) - before) * 1000) / count;
          };
          // Once before counting: the very first requests load code and set the SDK up.
          await mode.send(api, mode.image, 10);
          // The next ones still pay for compiling the hot paths, which a running API has behind it.
          const coldApiCpuMsPerImage = await cpuMsPerImage(images);
          await mode.send(api, mode.image, warmUpImages);
          const apiCpuMsPerImage = await cpuMsPerImage(warmImages);

          const worker = await startWorker(group, world, inspector, { env });
          await waitForEmptyQueue(inspector, 300_000);
          const meter = startLoadMeter(() => group.livePids());
          const started = performance.now();
          await mode.send(api, mode.image, images);
          await waitForEmptyQueue(inspector, 300_000);
          const e2eImagesPerS = images / ((performance.now() - started) / 1000);
          const otherCores = meter.otherCores();
          await worker.stop();
          measured.set(mode.name, [...(measured.get(mode.name) ?? []), { apiCpuMsPerImage, coldApiCpuMsPerImage, e2eImagesPerS, otherCores }]);
          log(`storage round ${round + 1} ${mode.name}: API ${apiCpuMsPerImage.toFixed(2)} ms CPU/image warm (${coldApiCpuMsPerImage.toFixed(2)} cold), end to end ${e2eImagesPerS.toFixed(2)} images/s (other load ${otherCores.toFixed(2)} cores)`);
        } finally {
          await api.process.stop();
          await inspector.queue.obliterate({ force: true });
          await inspector.close();
        }
      }
      floors.push(await measureFloor(s3, photo, images * 5, root));
      log(`storage round ${round + 1} floor: ${floors.at(-1)?.toFixed(3)} ms CPU per ranged GET`);
    }
  } finally {
    await redis.stop();
    await s3.stop();
    rmSync(root, { recursive: true, force: true });
  }
  const rows = modes.map((mode): StorageCostRow => {
    const runs = measured.get(mode.name) ?? [];
    return {
      name: mode.name,
      path: mode.path,
      driver: mode.driver,
      imageMB: mb(mode.image),
      rounds: runs,
      apiCpuMsPerImage: median(runs.map((r) => r.apiCpuMsPerImage)),
      coldApiCpuMsPerImage: median(runs.map((r) => r.coldApiCpuMsPerImage)),
      e2eImagesPerS: median(runs.map((r) => r.e2eImagesPerS)),
    };
  });
  return { images, warmUpImages, warmImages, rows, floorCpuMsPerGet: median(floors) };
}

// `npm run build && npx tsx bench/storage-cost.ts [images] [rounds] [--only TEXT] [--profile DIR]`
// (the warm figure from 100 untimed and 300 timed images):
// `--only` keeps the rows whose name contains TEXT; `--profile` runs each API under --cpu-prof into DIR.
if (require.main === module) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { only: { type: 'string' }, profile: { type: 'string' } } });
  if (!existsSync(path.resolve(__dirname, '../dist/api/main.js'))) throw new Error('no dist/: run `npm run build` first');
  const group = createProcessGroup();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  measureStorageCost({ group, images: Number(positionals[0] ?? 40), warmUpImages: 100, warmImages: 300, rounds: Number(positionals[1] ?? 3), only: values.only, nodeArgs: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : [], log })
    .then((result) => {
      process.stdout.write(`\nmedian of the rounds\n\n| upload path | API CPU ms per image, warm | cold | end to end, images/s |\n| --- | --- | --- | --- |\n`);
      for (const row of result.rows) process.stdout.write(`| ${row.name} | ${row.apiCpuMsPerImage.toFixed(2)} | ${row.coldApiCpuMsPerImage.toFixed(2)} | ${row.e2eImagesPerS.toFixed(2)} |\n`);
      process.stdout.write(`\nfloor: one ranged 64 KB GET, bare node:http: ${result.floorCpuMsPerGet.toFixed(3)} ms CPU\n`);
    })
    .finally(() => group.stopAll());
}
