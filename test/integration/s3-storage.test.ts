import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as tus from 'tus-js-client';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_SPEC } from '../../src/pipeline';
import { createLocalFileStore } from '../../src/storage/local-file-store';
import { processImageBytes } from '../../src/worker/process-stored-image';
import { fixtures } from '../fixtures/images';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { removeDir } from '../helpers/redis';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { createTestWorld, waitFor, type TestWorld } from '../helpers/stack';

// Three processes start from source (tsx); a killed worker's job waits out its lock (6 s) and
// the stalled checks before the other worker runs it.
jest.setTimeout(120_000);

const GOOD = Object.entries(fixtures).filter(([name]) => !/truncated|corrupt/i.test(name));

interface Accepted {
  batchId: string;
  jobs: { jobId: string; originalName: string }[];
}

/** A machine of its own: an empty working directory, and upload and output directories inside it that must stay absent. */
function machine(root: string, name: string) {
  const cwd = mkdtempSync(path.join(root, `${name}-`));
  return { cwd, env: { UPLOAD_DIR: path.join(cwd, 'uploads'), PROCESSED_DIR: path.join(cwd, 'processed') } };
}

describe('STORAGE_DRIVER=s3: an API and two workers that share only Redis and the bucket', () => {
  let s3: S3Server;
  let world: TestWorld;
  let root: string;
  let api: ApiProcess;
  const workers: ServiceProcess[] = [];
  const machines: { cwd: string }[] = [];

  beforeAll(async () => {
    s3 = await startS3Server();
    world = createTestWorld({ ...s3.env, MAX_FILES: String(GOOD.length) });
    root = mkdtempSync(path.join(tmpdir(), 'imgflow-machines-'));
    const apiMachine = machine(root, 'api');
    machines.push(apiMachine);
    api = await startApiProcess(world, apiMachine.env, apiMachine.cwd);
    for (const name of ['worker-1', 'worker-2']) {
      const m = machine(root, name);
      machines.push(m);
      // One job at a time each: jobs stay active long enough for one to be killed mid-way. The
      // killed one may have completed a job but not yet deleted its upload: the other's orphan
      // sweep, every second here, removes it.
      workers.push(await startWorkerProcess(world, { ...m.env, WORKER_CONCURRENCY: '1', FETCH_CONCURRENCY: '1', ORPHAN_SWEEP_INTERVAL_MS: '1000' }, m.cwd));
    }
  });
  afterAll(async () => {
    await Promise.all([api, ...workers].map((p) => p?.stop('SIGKILL')));
    await world.cleanup();
    await s3.stop();
    removeDir(root);
  });

  const upload = async (): Promise<Accepted> => {
    const form = new FormData();
    for (const [name, file] of GOOD) form.append('images', new Blob([readFileSync(file)]), `${name}${path.extname(file)}`);
    const res = await fetch(`${api.baseUrl}/process-images`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    return (await res.json()) as Accepted;
  };
  const batchOf = async (batchId: string) => (await (await fetch(`${api.baseUrl}/batches/${batchId}`)).json()) as { status: string; progress: { completed: number; failed: number; total: number } };

  it('reports the bucket ready', async () => {
    expect((await fetch(`${api.baseUrl}/readyz`)).status).toBe(200);
  });

  it('completes two batches of real fixtures although one worker is SIGKILLed mid-batch, each output the local driver\'s bytes', async () => {
    const batches = [await upload(), await upload()];
    const total = batches.reduce((n, b) => n + b.jobs.length, 0);
    const done = async () => (await Promise.all(batches.map((b) => batchOf(b.batchId)))).reduce((n, b) => n + b.progress.completed + b.progress.failed, 0);
    // Killed once it has done some work, with most of the batch still to do.
    const killed = workers[0] as ServiceProcess;
    await waitFor(async () => killed.output().includes('"image processed"') || (await done()) > 0, { timeoutMs: 60_000, what: 'a first image processed' });
    expect(await done()).toBeLessThan(total);
    await killed.stop('SIGKILL');

    const finished = await waitFor(async () => {
      const states = await Promise.all(batches.map((b) => batchOf(b.batchId)));
      return states.every((s) => s.status.startsWith('completed') || s.status === 'failed') && states;
    }, { timeoutMs: 90_000, intervalMs: 250, what: 'both batches to finish' });
    expect(finished.map((b) => b.status)).toEqual(['completed', 'completed']);
    expect(finished.map((b) => b.progress.completed)).toEqual([GOOD.length, GOOD.length]);

    // The same inputs through the local driver: the default pipeline's bytes do not depend on where files live.
    const localDir = mkdtempSync(path.join(root, 'local-'));
    const local = createLocalFileStore(localDir);
    for (const batch of batches) {
      for (const [i, job] of batch.jobs.entries()) {
        const [, file] = GOOD[i] as [string, string];
        const result = await processImageBytes(local, { jobId: job.jobId, spec: DEFAULT_SPEC }, readFileSync(file));
        const redirect = await fetch(`${api.baseUrl}/jobs/${job.jobId}/result`, { redirect: 'manual' });
        expect(redirect.status).toBe(302);
        const served = await fetch(redirect.headers.get('location') as string);
        expect(served.status).toBe(200);
        expect(served.headers.get('content-type')).toBe('image/jpeg');
        const bytes = Buffer.from(await served.arrayBuffer());
        expect({ job: job.originalName, identical: bytes.equals(readFileSync(path.join(localDir, result.outputPath))) }).toEqual({ job: job.originalName, identical: true });
      }
    }
  });

  it('streams a result through the API with ?proxy=true', async () => {
    const { jobs } = await upload();
    const [job] = jobs;
    await waitFor(async () => (await (await fetch(`${api.baseUrl}/jobs/${job?.jobId}`)).json() as { state: string }).state === 'completed', { timeoutMs: 60_000, what: 'a job done' });
    const res = await fetch(`${api.baseUrl}/jobs/${job?.jobId}/result?proxy=true`, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^inline; filename="jpegExif1\.jpg"/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 3).toString('hex')).toBe('ffd8ff');
  });

  it('completes a resumable (tus) upload: its parts on the API\'s disk, then streamed into the bucket', async () => {
    const image = readFileSync(fixtures.photoJpeg);
    const uploadUrl = await new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(image, {
        endpoint: `${api.baseUrl}/uploads/tus`,
        metadata: { filename: 'flowers.jpeg' },
        retryDelays: [],
        onSuccess: () => (upload.url ? resolve(upload.url) : reject(new Error('no upload URL'))),
        onError: reject,
      });
      upload.start();
    });
    const res = await fetch(`${api.baseUrl}/uploads/tus/complete`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ uploadIds: [uploadUrl.split('/').pop()] }) });
    expect(res.status).toBe(202);
    const { batchId, jobs } = (await res.json()) as Accepted;
    await waitFor(async () => (await batchOf(batchId)).status === 'completed', { timeoutMs: 60_000, what: 'the tus batch' });
    const redirect = await fetch(`${api.baseUrl}/jobs/${jobs[0]?.jobId}/result`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect((await fetch(redirect.headers.get('location') as string)).status).toBe(200);
  });

  it('leaves no file on any machine, and no upload in the bucket once its job is done', async () => {
    for (const { cwd } of machines) {
      // The API's one directory is where tus parts arrive (RESUMABLE_DIR); none were sent here.
      const tus = path.join(cwd, 'tus-uploads');
      expect({ cwd, files: readdirSync(cwd).filter((f) => f !== 'tus-uploads'), tus: existsSync(tus) ? readdirSync(tus) : [] }).toEqual({ cwd, files: [], tus: [] });
      expect(existsSync(path.join(cwd, 'uploads')) || existsSync(path.join(cwd, 'processed'))).toBe(false);
    }
    const listing = await waitFor(async () => {
      const text = await (await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=uploads/`)).text();
      return !text.includes('<Key>') && text;
    }, { timeoutMs: 20_000, intervalMs: 200, what: 'the processed uploads to be deleted' });
    expect(listing).toContain('<ListBucketResult');
  });
});
