import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { startS3Server } from '../test/helpers/s3-server';
import { createProcessGroup } from './process-group';
import { readProc, startLoadMeter } from './proc-stats';
import { waitForEmptyQueue } from './queue-state';
import { createInspector, createServiceWorld, startApi, startPrivateRedis, startWorker, type RunningApi } from './stack';
import { median } from './stats';

/**
 * Issue 9's rows: the API's CPU per image for a multipart upload to the local disk, the same
 * upload streamed into a bucket, and a direct upload (POST /uploads, PUTs to the bucket, complete),
 * with no worker running; then end to end (first byte sent to queue empty) with a worker, local
 * disk against the bucket. A real S3 server (s3rver, in this process) on 127.0.0.1, the
 * services from dist/ (`npm run build` first).
 * `tsx bench/storage-cost.ts [images] [rounds] [--only TEXT] [--profile DIR]`: `--only` keeps the
 * rows whose name contains TEXT; `--profile` runs each API under --cpu-prof, writing into DIR.
 */

interface Mode {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly image: Buffer;
  readonly send: (api: RunningApi, image: Buffer, count: number) => Promise<void>;
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

const mb = (image: Buffer) => `${(image.length / 1e6).toFixed(2)} MB`;

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { only: { type: 'string' }, profile: { type: 'string' } } });
  const images = Number(positionals[0] ?? 40);
  const rounds = Number(positionals[1] ?? 3);
  const nodeArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : [];
  const repo = path.resolve(__dirname, '..');
  if (!existsSync(path.join(repo, 'dist/api/main.js'))) throw new Error('no dist/: run `npm run build` first');
  // Photo-like JPEGs of about 2.5 MB (the size the figure is for) and a tenth of that:
  // a direct upload's API cost should not depend on the size.
  const noisy = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#7a5', noise: { type: 'gaussian', mean: 110, sigma: 30 } } }).jpeg({ quality: 88 }).toBuffer();
  const photo = await noisy(2600, 1800);
  const small = await noisy(820, 570);
  const root = mkdtempSync(path.join(tmpdir(), 'imgflow-bench-storage-'));
  const group = createProcessGroup();
  const redis = await startPrivateRedis(group);
  const s3 = await startS3Server();
  const modes = ([
    { name: `multipart, local disk, ${mb(photo)}`, env: {}, image: photo, send: multipart },
    { name: `multipart, bucket, ${mb(photo)}`, env: s3.env, image: photo, send: multipart },
    { name: `direct upload, bucket, ${mb(photo)}`, env: s3.env, image: photo, send: direct },
    { name: `direct upload, bucket, ${mb(small)}`, env: s3.env, image: small, send: direct },
  ] satisfies Mode[]).filter((mode) => !values.only || mode.name.includes(values.only));
  const cpu: Record<string, number[]> = {};
  const e2e: Record<string, number[]> = {};
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        const world = createServiceWorld({ dataRoot: path.join(root, 'data'), logRoot: path.join(root, 'logs') }, redis.url, `${round}-${mode.name.replace(/\W+/g, '-')}`, 'warn');
        const inspector = createInspector(world);
        const api = await startApi(group, world, 'api', { ...mode.env, MAX_FILE_SIZE_MB: '5' }, nodeArgs);
        // Once before counting: the first requests pay for loading and compiling code, and the SDK's set-up.
        await mode.send(api, mode.image, 10);
        const before = readProc(api.process.pid)?.cpuS ?? 0;
        await mode.send(api, mode.image, images);
        (cpu[mode.name] ??= []).push((((readProc(api.process.pid)?.cpuS ?? 0) - before) * 1000) / images);

        const worker = await startWorker(group, world, inspector, { env: mode.env });
        await waitForEmptyQueue(inspector, 300_000);
        const meter = startLoadMeter(() => group.livePids());
        const started = performance.now();
        await mode.send(api, mode.image, images);
        await waitForEmptyQueue(inspector, 300_000);
        (e2e[mode.name] ??= []).push(images / ((performance.now() - started) / 1000));
        process.stdout.write(`round ${round + 1} ${mode.name}: API ${cpu[mode.name]?.at(-1)?.toFixed(2)} ms CPU/image, end to end ${e2e[mode.name]?.at(-1)?.toFixed(2)} images/s (other load ${meter.otherCores().toFixed(2)} cores)\n`);
        await worker.stop();
        await api.process.stop();
        await inspector.queue.obliterate({ force: true });
        await inspector.close();
      }
    }
  } finally {
    await redis.stop();
    await group.stopAll();
    await s3.stop();
    rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(`\n${images} images per row, median of ${rounds} rounds\n\n| upload path | API CPU ms per image | end to end, images/s |\n| --- | --- | --- |\n`);
  for (const mode of modes) process.stdout.write(`| ${mode.name} | ${median(cpu[mode.name] ?? []).toFixed(2)} | ${median(e2e[mode.name] ?? []).toFixed(2)} |\n`);
}

void main();
