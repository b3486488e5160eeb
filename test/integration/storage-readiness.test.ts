import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApiProcess, type ApiProcess } from '../helpers/processes';
import { removeDir } from '../helpers/redis';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { createTestWorld, waitFor, type TestWorld } from '../helpers/stack';

/** /readyz once the API's Redis connection is up (right after start it may still be connecting). */
const readiness = (api: ApiProcess) =>
  waitFor(async () => {
    const res = await fetch(`${api.baseUrl}/readyz`);
    const body = (await res.json()) as { status?: string; code?: string };
    return body.code !== 'QUEUE_UNAVAILABLE' && { status: res.status, body };
  }, { timeoutMs: 10_000, what: 'Redis to be connected' });

// Each case starts an API process from source (tsx).
jest.setTimeout(60_000);

describe('GET /readyz reports the file storage', () => {
  let s3: S3Server;
  let world: TestWorld;
  let root: string;
  const apis: ApiProcess[] = [];
  beforeAll(async () => {
    s3 = await startS3Server();
    world = createTestWorld();
    root = mkdtempSync(path.join(tmpdir(), 'imgflow-readiness-'));
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop('SIGKILL')));
    await world.cleanup();
    await s3.stop();
    removeDir(root);
  });

  it('is ready on the local disk when the API starts before any worker made the outputs directory', async () => {
    const dirs = { UPLOAD_DIR: path.join(root, 'fresh', 'uploads'), PROCESSED_DIR: path.join(root, 'fresh', 'processed') };
    const api = await startApiProcess(world, dirs);
    apis.push(api);
    expect(await readiness(api)).toEqual({ status: 200, body: { status: 'ready' } });
    expect(existsSync(dirs.PROCESSED_DIR)).toBe(true);
  });

  it.each([
    ['is ready with a bucket that answers', (env: Record<string, string>) => env, { status: 200, body: { status: 'ready' } }],
    ['answers 503 STORAGE_UNAVAILABLE for a bucket that does not exist', (env: Record<string, string>) => ({ ...env, S3_BUCKET: 'no-such-bucket' }), { status: 503, body: expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }) }],
  ])('%s', async (_name, envOf, expected) => {
    const api = await startApiProcess(world, envOf(s3.env));
    apis.push(api);
    expect(await readiness(api)).toEqual(expected);
  });

  it('asks the bucket once per check: uploads and outputs share it', async () => {
    const api = await startApiProcess(world, s3.env);
    apis.push(api);
    await readiness(api);
    const heads = () => s3.answered.filter((r) => r.method === 'HEAD' && r.url.split('?')[0]?.replace(/\/$/, '') === `/${s3.bucket}`).length;
    const before = heads();
    expect((await fetch(`${api.baseUrl}/readyz`)).status).toBe(200);
    expect(heads() - before).toBe(1);
  });
});
