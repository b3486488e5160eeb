import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { fixtures } from '../fixtures/images';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { freePort, removeDir } from '../helpers/redis';
import { createTestWorld, TEST_ADMIN_TOKEN, type TestWorld } from '../helpers/stack';
import { createKey, type CreatedKey } from '../helpers/api-keys';

// A real API and worker started from source, and the CLI as a child process per test: seconds each.
jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI from source; with `pty`, under `script` so stdout is a terminal (stdout and stderr then arrive together). */
function runCli(args: readonly string[], options: { pty?: boolean; env?: Record<string, string> } = {}): Promise<CliRun> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const [command, argv] = options.pty
    ? ['script', ['-qec', [process.execPath, ...CLI, ...args].map(quote).join(' '), '/dev/null']]
    : [process.execPath, [...CLI, ...args]];
  const child = spawn(command, argv, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TERM: 'xterm', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

interface Summary {
  batches: Array<{ batchId: string; status: string }>;
  files: Array<{ path: string; batchId: string | null; state: string; failedReason: string | null; outputs: string[] }>;
  skipped: Array<{ path: string; reason: string }>;
  counts: Record<string, number>;
}

const BAR_CHARS = /[\u2588\u2591]/;

describe('the imgflow CLI against a running service', () => {
  let world: TestWorld;
  let api: ApiProcess;
  let worker: ServiceProcess;
  let tmp: string;
  /** A folder with the given fixtures (name → source), plus anything written by `extra`. */
  const folder = (name: string, files: Record<string, string>) => {
    const dir = path.join(tmp, name);
    for (const [file, source] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      copyFileSync(source, path.join(dir, file));
    }
    return dir;
  };

  beforeAll(async () => {
    // MAX_FILES=2 so that splitting into requests shows with a handful of files.
    world = createTestWorld({ MAX_FILES: '2', ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    [api, worker] = await Promise.all([startApiProcess(world), startWorkerProcess(world)]);
    tmp = mkdtempSync(path.join(tmpdir(), 'imgflow-cli-'));
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await world?.cleanup();
    if (tmp) removeDir(tmp);
  });

  it('uploads a folder recursively, skips a text file, waits and downloads every variant named after its input (exit 0)', async () => {
    const photos = folder('photos', { 'concert.jpg': fixtures.smallPhotoJpeg, 'sub/bug.png': fixtures.rgbaPng, 'sub/deeper/leaf.webp': fixtures.webp });
    writeFileSync(path.join(photos, 'notes.jpg'), 'not an image, whatever its name says\n');
    const out = path.join(tmp, 'out');

    const run = await runCli(['upload', photos, '--server', api.baseUrl, '--variants', 'default,thumbnail', '--wait', '--out', out, '--json']);

    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const summary = JSON.parse(run.stdout) as Summary;
    expect(summary.counts).toEqual({ images: 3, completed: 3, failed: 0, queued: 0, skipped: 1 });
    expect(summary.skipped).toEqual([{ path: path.join(photos, 'notes.jpg'), reason: 'not an image (checked by content)' }]);
    const outputs = summary.files.flatMap((f) => f.outputs).map((p) => path.relative(out, p)).sort();
    expect(outputs).toEqual(['concert-thumbnail.webp', 'concert.jpg', 'sub/bug-thumbnail.webp', 'sub/bug.jpg', 'sub/deeper/leaf-thumbnail.webp', 'sub/deeper/leaf.jpg']);
    for (const output of outputs) {
      const meta = await sharp(path.join(out, output)).metadata();
      expect({ output, format: meta.format }).toEqual({ output, format: output.endsWith('.webp') ? 'webp' : 'jpeg' });
      if (output.includes('thumbnail')) expect({ output, width: meta.width, height: meta.height }).toEqual({ output, width: 256, height: 256 });
    }
  });

  it('splits 5 files into requests of the server\'s MAX_FILES (2): 3 batches', async () => {
    const five = folder('five', {
      '1.jpg': fixtures.jpegExif1, '2.jpg': fixtures.jpegExif3, '3.jpg': fixtures.jpegExif6, '4.png': fixtures.rgbaPng, '5.webp': fixtures.webp,
    });
    const run = await runCli(['upload', five, '--server', api.baseUrl, '--json']);

    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as Summary;
    expect(new Set(summary.batches.map((b) => b.batchId)).size).toBe(3);
    const perBatch = summary.batches.map((b) => summary.files.filter((f) => f.batchId === b.batchId).length).sort();
    expect(perBatch).toEqual([1, 2, 2]);
    expect(summary.counts).toMatchObject({ images: 5, queued: 5, failed: 0 });
  });

  it('exits 1 and gives the reason when a file fails, while the others complete', async () => {
    const mixed = folder('mixed', { 'good.jpg': fixtures.smallPhotoJpeg, 'truncated.jpg': fixtures.truncatedJpeg });
    const run = await runCli(['upload', mixed, '--server', api.baseUrl, '--wait', '--json']);

    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout) as Summary;
    const byName = Object.fromEntries(summary.files.map((f) => [path.basename(f.path), f]));
    expect(byName['good.jpg']).toMatchObject({ state: 'completed' });
    expect(byName['truncated.jpg']).toMatchObject({ state: 'failed', failedReason: expect.stringMatching(/^CORRUPT_IMAGE/) });
    expect(run.stderr).toMatch(/failed: .*truncated\.jpg: CORRUPT_IMAGE/);
  });

  it('exits 3 when nothing listens at the server address', async () => {
    const port = await freePort();
    const run = await runCli(['upload', folder('dead', { 'a.jpg': fixtures.smallPhotoJpeg }), '--server', `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(new RegExp(`Could not reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });

  it('exits 3 when the server refuses the request as a whole (an unknown preset)', async () => {
    const run = await runCli(['upload', folder('refused', { 'a.jpg': fixtures.smallPhotoJpeg }), '--server', api.baseUrl, '--preset', 'no-such-preset']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/UNKNOWN_PRESET/);
  });

  // Each points at a dead port too: a usage error must be found before anything is sent (which would be exit 3).
  it.each([
    ['a concurrency of 0', ['upload', '--concurrency', '0', '.']],
    ['--options that is not JSON', ['upload', '--options', '{width:', '.']],
    ['--options that is not an object', ['upload', '--options', '[1]', '.']],
    ['an unknown flag', ['upload', '--bogus', '.']],
    ['no paths', ['upload']],
    ['a path that does not exist', ['upload', 'no/such/folder']],
    ['a server that is not a URL', ['upload', '--server', 'localhost:3000', '.']],
    ['an unknown command', ['uplod', '.']],
    ['status without a batch id', ['status']],
  ])('exits 2 on %s', async (_what, args) => {
    const port = await freePort();
    const run = await runCli([...args, ...(args.includes('--server') ? [] : ['--server', `http://127.0.0.1:${port}`])]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(/\S/) });
  });

  it.each([['imgflow'], ['upload'], ['status']])('answers --help for %s with exit 0', async (command) => {
    const run = await runCli(command === 'imgflow' ? ['--help'] : [command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: imgflow/);
  });

  it('draws a progress bar only when stdout is a terminal', async () => {
    expect(existsSync('/usr/bin/script')).toBe(true);
    const photos = folder('bar', { 'a.jpg': fixtures.smallPhotoJpeg, 'b.png': fixtures.rgbaPng });

    const inTerminal = await runCli(['upload', photos, '--server', api.baseUrl, '--wait'], { pty: true });
    expect(inTerminal.code).toBe(0);
    expect(inTerminal.stdout).toMatch(BAR_CHARS);
    expect(inTerminal.stdout).toMatch(/2\/2 files \| [\d.]+\/[\d.]+ MB up \| [\d.]+ (MB|files)\/s \| ETA/);

    const piped = await runCli(['upload', photos, '--server', api.baseUrl, '--wait']);
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toMatch(BAR_CHARS);
    expect(piped.stdout).not.toMatch(/ETA|\r/);
    expect(piped.stdout).toMatch(/^done .*a\.jpg$/m);
  });

  it('status --wait follows a batch named by id, with the server from IMGFLOW_URL; a failed file makes it exit 1', async () => {
    const upload = await runCli(['upload', folder('status', { 'ok.jpg': fixtures.smallPhotoJpeg, 'bad.jpg': fixtures.truncatedJpeg }), '--json', '--quiet'], { env: { IMGFLOW_URL: api.baseUrl } });
    expect(upload.code).toBe(0);
    const [batch] = (JSON.parse(upload.stdout) as Summary).batches;

    const run = await runCli(['status', batch?.batchId ?? '', '--wait', '--json'], { env: { IMGFLOW_URL: api.baseUrl } });
    expect(run.code).toBe(1);
    const final = JSON.parse(run.stdout) as { status: string; files: Array<{ originalName: string; state: string }> };
    expect(final.status).toBe('completed-with-errors');
    expect(final.files.map((f) => [f.originalName, f.state]).sort()).toEqual([['bad.jpg', 'failed'], ['ok.jpg', 'completed']]);
  });

  it('lists dead letters and retries one with the admin token, and exits 3 without it', async () => {
    const failed = await runCli(['upload', folder('dlq', { 'dead.jpg': fixtures.truncatedJpeg }), '--server', api.baseUrl, '--wait', '--json']);
    const jobId = (JSON.parse(failed.stdout) as { files: Array<{ jobId: string }> }).files[0]?.jobId;

    const refused = await runCli(['dead-letters', '--server', api.baseUrl]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/UNAUTHORIZED/);

    const list = await runCli(['dead-letters', '--server', api.baseUrl, '--json'], { env: { IMGFLOW_ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
    expect(list.code).toBe(0);
    const letters = JSON.parse(list.stdout) as { items: Array<{ id: string; originalName: string; failedReason: string }> };
    expect(letters.items).toContainEqual(expect.objectContaining({ id: jobId, originalName: 'dead.jpg', failedReason: expect.stringMatching(/^CORRUPT_IMAGE/) }));

    const retry = await runCli(['dead-letters', '--admin-token', TEST_ADMIN_TOKEN, 'retry', jobId ?? '', '--server', api.baseUrl, '--json']);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ jobId });
  });

  describe('urls, against a stand-in server (POST /process-urls is another branch\'s work)', () => {
    let stub: Server;
    let stubUrl: string;
    const received: Array<{ type: string; body: string }> = [];
    let answer: { status: number; body: unknown } = { status: 404, body: {} };
    beforeAll(async () => {
      stub = createServer((req: IncomingMessage, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          received.push({ type: req.headers['content-type'] ?? '', body });
          res.writeHead(answer.status, { 'Content-Type': answer.status < 300 ? 'application/json' : 'application/problem+json' }).end(JSON.stringify(answer.body));
        });
      });
      await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
      stubUrl = `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => stub.close(() => resolve())));
    beforeEach(() => {
      received.length = 0;
    });

    it('sends a JSON list of URLs and exits 3 with a clear message when the server has no such route', async () => {
      answer = { status: 404, body: { type: 'urn:imgflow:problem:route-not-found', title: 'Not found', status: 404, detail: 'No route POST /process-urls', code: 'ROUTE_NOT_FOUND' } };
      const run = await runCli(['urls', 'https://example.com/a.jpg', 'https://example.com/b.png', '--preset', 'web', '--server', stubUrl]);
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/has no POST \/process-urls/);
      expect(received).toHaveLength(1);
      expect(received[0]?.type).toBe('application/json');
      expect(JSON.parse(received[0]?.body ?? '')).toEqual({ urls: ['https://example.com/a.jpg', 'https://example.com/b.png'], preset: 'web' });
    });

    it('sends a CSV file as multipart field `file` and prints the accepted batch', async () => {
      const batchId = '3b241101-e2bb-4255-8caf-4136c566a962';
      answer = { status: 202, body: { batchId, statusUrl: `/batches/${batchId}`, totalFiles: 1, jobs: [{ jobId: batchId, originalName: 'a.jpg', statusUrl: `/jobs/${batchId}` }] } };
      const csv = path.join(tmp, 'list.csv');
      writeFileSync(csv, 'url\nhttps://example.com/a.jpg\n');
      const run = await runCli(['urls', csv, '--server', stubUrl, '--json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ batchId, totalFiles: 1 });
      expect(received[0]?.type).toMatch(/^multipart\/form-data; boundary=/);
      expect(received[0]?.body).toMatch(/name="file"; filename="list\.csv"\r\nContent-Type: text\/csv\r\n\r\nurl\nhttps:\/\/example\.com\/a\.jpg\n\r\n/);
    });

    it('exits 2 on an argument that is neither a URL nor a file, before sending anything', async () => {
      const run = await runCli(['urls', 'example.com/a.jpg', '--server', stubUrl]);
      expect(run.code).toBe(2);
      expect(received).toHaveLength(0);
    });
  });
});

describe('the imgflow CLI against a server with API keys', () => {
  let world: TestWorld;
  let api: ApiProcess;
  let alice: CreatedKey;
  let bob: CreatedKey;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([createKey('Alice'), createKey('Bob')]);
    world = createTestWorld({ API_KEYS: `${alice.env},${bob.env}` });
    api = await startApiProcess(world);
  });
  afterAll(async () => {
    await api?.stop();
    await world?.cleanup();
  });

  it('exits 3 without a key, saying how to give one', async () => {
    const run = await runCli(['upload', fixtures.rgbaPng, '--server', api.baseUrl]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/UNAUTHENTICATED: .*\(pass --api-key or set IMGFLOW_API_KEY\)/);
  });

  it('uploads with IMGFLOW_API_KEY, reads the batch back with --api-key, and another key cannot', async () => {
    const upload = await runCli(['upload', fixtures.rgbaPng, '--server', api.baseUrl, '--json'], { env: { IMGFLOW_API_KEY: alice.key } });
    expect(upload.code).toBe(0);
    const [batch] = (JSON.parse(upload.stdout) as Summary).batches;
    if (!batch) throw new Error(`no batch in ${upload.stdout}`);
    expect((await runCli(['status', batch.batchId, '--server', api.baseUrl, '--api-key', alice.key])).code).toBe(0);
    const other = await runCli(['status', batch.batchId, '--server', api.baseUrl, '--api-key', bob.key]);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/BATCH_NOT_FOUND/);
  });

  it('keys create refuses a name that makes no id (exit 2)', async () => {
    const run = await runCli(['keys', 'create', '***']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/pass --id/);
  });
});
