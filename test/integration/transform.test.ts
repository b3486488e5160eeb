import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Server } from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { BatchStatus, JobStatus, Presets } from '../../src/api/schemas';
import { closeServer, listen } from '../../src/api/server';
import { fixtures } from '../fixtures/images';
import { bodyOf, filesIn, getJson } from '../helpers/http';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

/** `curl -F images=@file -F name=value …`: a real multipart POST over a real socket. */
async function curlForm(baseUrl: string, fields: readonly (readonly [string, string | { file: string }])[], route = '/process-images') {
  const form = new FormData();
  for (const [name, value] of fields) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([new Uint8Array(readFileSync(value.file))]), path.basename(value.file));
  }
  const res = await fetch(`${baseUrl}${route}`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { code?: string; detail?: string; batchId?: string; jobs?: { jobId: string }[] } };
}

async function download(baseUrl: string, url: string) {
  const res = await fetch(`${baseUrl}${url}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, data: Buffer.from(await res.arrayBuffer()) };
}

describe('variants through HTTP with a real worker', () => {
  let stack: TestStack;
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    stack = await startStack({ worker: true });
    server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await closeServer(server, 0);
    await stack.stop();
  });

  const completedJob = (jobId: string) =>
    waitFor(async () => {
      const job = bodyOf(await getJson(`${baseUrl}/jobs/${jobId}`, JobStatus));
      return job.state === 'completed' && job;
    }, { what: `job ${jobId} completed` });

  // The done-when, exactly: curl -F images=@photo.jpg -F variants=thumbnail,web localhost:3000/process-images
  it('gives a job that serves a 256x256 WebP and a 1280-wide WebP for variants=thumbnail,web', async () => {
    const accepted = await curlForm(baseUrl, [['images', { file: fixtures.largePhotoJpeg }], ['variants', 'thumbnail,web']]);
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobs?.[0]?.jobId as string;

    const job = await completedJob(jobId);
    expect(job.result?.variants.map((v) => v.name)).toEqual(['thumbnail', 'web']);
    expect(job.result).toMatchObject({ format: 'webp', width: 256, height: 256, outputPath: `${jobId}-thumbnail.webp` });

    const thumbnail = await download(baseUrl, `/jobs/${jobId}/result?variant=thumbnail`);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
    expect(thumbnail.headers.get('content-disposition')).toBe(`inline; filename="2569067123_aca715a2ee_o-thumbnail.webp"; filename*=UTF-8''2569067123_aca715a2ee_o-thumbnail.webp`);
    expect(await sharp(thumbnail.data).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });

    const web = await download(baseUrl, `/jobs/${jobId}/result?variant=web`);
    expect(web.headers.get('content-type')).toBe('image/webp');
    const webMeta = await sharp(web.data).metadata();
    expect(webMeta).toMatchObject({ format: 'webp', width: 1280 });
    expect(job.result?.variants[1]).toMatchObject({ name: 'web', format: 'webp', width: 1280, height: webMeta.height, size: web.data.length, quality: 75 });

    // Without `variant`: the first.
    expect((await download(baseUrl, `/jobs/${jobId}/result`)).data.equals(thumbnail.data)).toBe(true);
    const unknown = await download(baseUrl, `/jobs/${jobId}/result?variant=avif`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.data.toString())).toMatchObject({ code: 'VARIANT_NOT_FOUND' });

    // The batch, read from its stored outcomes, reports the same variants.
    const batch = bodyOf(await getJson(`${baseUrl}/batches/${accepted.body.batchId}`, BatchStatus));
    expect(batch.files[0]?.result?.variants).toEqual(job.result?.variants);
    expect(filesIn(stack.world.processedDir).sort()).toEqual([`${jobId}-thumbnail.webp`, `${jobId}-web.webp`]);
  });

  it('keeps the default request exactly as it was: one grey 512 px JPEG named by the job', async () => {
    const accepted = await curlForm(baseUrl, [['images', { file: fixtures.photoJpeg }]]);
    const jobId = accepted.body.jobs?.[0]?.jobId as string;
    const job = await completedJob(jobId);
    expect(job.result).toMatchObject({ outputPath: `${jobId}.jpg`, format: 'jpeg', width: 512, variants: [{ name: 'default', outputPath: `${jobId}.jpg`, quality: 80 }] });
    const output = await download(baseUrl, `/jobs/${jobId}/result`);
    expect(output.headers.get('content-disposition')).toBe(`inline; filename="flowers.jpg"; filename*=UTF-8''flowers.jpg`);
    expect(await sharp(output.data).metadata()).toMatchObject({ format: 'jpeg', width: 512, channels: 1 });
  });

  it('applies options after the files, over the chosen preset, as variant custom', async () => {
    const accepted = await curlForm(baseUrl, [['media', { file: fixtures.rgbaPng }], ['preset', 'web'], ['options', JSON.stringify({ width: 100, format: 'png' })]], '/upload');
    expect(accepted.status).toBe(202);
    const job = await completedJob(accepted.body.jobId as string);
    expect(job.result).toMatchObject({ format: 'png', width: 100, variants: [{ name: 'custom', quality: null }] });
    const output = await download(baseUrl, `/jobs/${job.jobId}/result?variant=custom`);
    expect(await sharp(output.data).metadata()).toMatchObject({ format: 'png', width: 100, hasAlpha: true });
  });

  it('encodes quality "auto" at the quality the search chose, and reports it with its score', async () => {
    const accepted = await curlForm(baseUrl, [['images', { file: fixtures.largePhotoJpeg }], ['options', JSON.stringify({ width: 640, format: 'webp', quality: 'auto' })]]);
    expect(accepted.status).toBe(202);
    const job = await completedJob(accepted.body.jobs?.[0]?.jobId as string);
    const [variant] = job.result?.variants ?? [];
    expect(variant).toMatchObject({ name: 'custom', format: 'webp', width: 640 });
    expect(variant?.score).toBeGreaterThanOrEqual(stack.world.config.transform.autoQualityTarget);
    expect(variant?.quality).toEqual(expect.any(Number));
    // What is served is what the search scored and reported, not a fresh encode.
    const output = await download(baseUrl, `/jobs/${job.jobId}/result`);
    expect(output.data.length).toBe(variant?.size);
  });

  it('lists the built-in presets with their settings at GET /presets', async () => {
    const presets = bodyOf(await getJson(`${baseUrl}/presets`, Presets));
    expect(Object.keys(presets)).toEqual(expect.arrayContaining(['default', 'thumbnail', 'web', 'avif', 'original']));
    expect(presets.thumbnail).toMatchObject({ width: 256, height: 256, fit: 'cover', position: 'attention', format: 'webp' });
    expect(presets.default).toMatchObject({ width: 512, grayscale: true, format: 'jpeg', quality: 80, withoutEnlargement: true, keepMetadata: false });
  });
});

describe('refused output settings', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // No worker: nothing may be queued, and nothing may stay in uploads/.
    stack = await startStack({ env: { MAX_OUTPUT_PIXELS: '1000000' } });
  });
  afterAll(() => stack.stop());

  it.each([
    { name: 'a width over 8192', fields: { options: '{"width":9000}' }, code: 'INVALID_OPTIONS', detail: /options\.width.*8192/ },
    { name: 'an unknown fit', fields: { options: '{"fit":"squash"}' }, code: 'INVALID_OPTIONS', detail: /options\.fit.*cover/ },
    { name: 'an unknown setting', fields: { options: '{"widht":100}' }, code: 'INVALID_OPTIONS', detail: /widht/ },
    { name: 'blur under 0.3', fields: { options: '{"blur":0.1}' }, code: 'INVALID_OPTIONS', detail: /options\.blur.*0\.3/ },
    { name: 'rotate 45', fields: { options: '{"rotate":45}' }, code: 'INVALID_OPTIONS', detail: /options\.rotate/ },
    { name: 'a colour that is not one', fields: { options: '{"background":"url(x)"}' }, code: 'INVALID_OPTIONS', detail: /options\.background.*CSS colour/ },
    { name: 'quality auto for PNG', fields: { options: '{"format":"png","quality":"auto"}' }, code: 'INVALID_OPTIONS', detail: /options\.quality.*jpeg, webp or avif/ },
    { name: 'lossless JPEG', fields: { options: '{"lossless":true}' }, code: 'INVALID_OPTIONS', detail: /options\.lossless/ },
    { name: 'animated JPEG', fields: { options: '{"animated":true}' }, code: 'INVALID_OPTIONS', detail: /options\.animated.*webp or gif/ },
    { name: 'effort 9 for WebP', fields: { options: '{"format":"webp","effort":9}' }, code: 'INVALID_OPTIONS', detail: /options\.effort.*0–6/ },
    { name: 'auto quality that keeps metadata', fields: { options: '{"quality":"auto","keepMetadata":true}' }, code: 'INVALID_OPTIONS', detail: /options\.keepMetadata/ },
    { name: 'malformed JSON', fields: { options: '{"width": 100' }, code: 'INVALID_OPTIONS', detail: /options.*not JSON/ },
    { name: 'JSON that is not an object', fields: { options: '[1,2]' }, code: 'INVALID_OPTIONS', detail: /options/ },
    { name: 'options with variants', fields: { variants: 'web', options: '{"width":100}' }, code: 'INVALID_OPTIONS', detail: /either/ },
    { name: 'a variant listed twice', fields: { variants: 'web,web' }, code: 'INVALID_OPTIONS', detail: /twice/ },
    { name: 'an unknown preset', fields: { preset: 'huge' }, code: 'UNKNOWN_PRESET', detail: /default, thumbnail, web, avif, original/ },
    { name: 'an unknown variant', fields: { variants: 'web,poster' }, code: 'UNKNOWN_PRESET', detail: /poster/ },
    { name: 'six variants', fields: { variants: 'default,thumbnail,web,avif,original,default' }, code: 'TOO_MANY_VARIANTS', detail: /1–5/ },
    { name: 'a box over MAX_OUTPUT_PIXELS', fields: { options: '{"width":2000,"height":2000,"fit":"cover"}' }, code: 'OUTPUT_TOO_LARGE', detail: /1000000/ },
    { name: 'an enlargement over MAX_OUTPUT_PIXELS', fields: { options: '{"width":8000,"withoutEnlargement":false}' }, code: 'OUTPUT_TOO_LARGE', detail: /8000x/ },
  ])('refuses $name with 400 $code and keeps no file', async ({ fields, code, detail }) => {
    let req = stack.request.post('/process-images').attach('images', fixtures.photoJpeg);
    for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
    const res = await req.expect(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code });
    expect(res.body.detail).toMatch(detail);
    expect(filesIn(stack.world.uploadDir)).toEqual([]);
    expect(await stack.api.ports.queue.count()).toBe(0);
  });

  it('reads the fields when they come before the files too', async () => {
    const res = await stack.request.post('/process-images').field('preset', 'nope').attach('images', fixtures.photoJpeg).expect(400);
    expect(res.body.code).toBe('UNKNOWN_PRESET');
    expect(filesIn(stack.world.uploadDir)).toEqual([]);
  });

  it('refuses options with 400 PRESETS_ONLY when ONLY_PRESETS=true, and still takes presets', async () => {
    const locked = await startStack({ env: { ONLY_PRESETS: 'true' } });
    try {
      const res = await locked.request.post('/upload').attach('media', fixtures.photoJpeg).field('options', '{"width":100}').expect(400);
      expect(res.body.code).toBe('PRESETS_ONLY');
      expect(filesIn(locked.world.uploadDir)).toEqual([]);
      await locked.request.post('/upload').attach('media', fixtures.photoJpeg).field('preset', 'thumbnail').expect(202);
    } finally {
      await locked.stop();
    }
  });
});

describe('PRESETS_FILE', () => {
  it('adds presets and overrides built-in ones, listed at GET /presets and usable as variants', async () => {
    const file = path.join(tmpdir(), `imgflow-presets-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ poster: { width: 800, format: 'avif' }, thumbnail: { width: 64, height: 64, format: 'png' } }));
    const stack = await startStack({ env: { PRESETS_FILE: file } });
    try {
      const presets = (await stack.request.get('/presets').expect(200)).body as Presets;
      expect(presets.poster).toMatchObject({ width: 800, format: 'avif', fit: 'cover', quality: 80 });
      expect(presets.thumbnail).toMatchObject({ width: 64, height: 64, format: 'png' });
      await stack.request.post('/process-images').attach('images', fixtures.photoJpeg).field('variants', 'poster,thumbnail').expect(202);
    } finally {
      await stack.stop();
      rmSync(file, { force: true });
    }
  });
});
