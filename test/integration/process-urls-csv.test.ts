import { readFileSync } from 'node:fs';
import { multipartBody, multipartType } from '../helpers/multipart-body';
import { rawRequest } from '../helpers/raw-http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { BatchAccepted, BatchStatus, Problem } from '../../src/api/schemas';
import { fixtures } from '../fixtures/images';
import { startImageServer, type ImageServer } from '../helpers/image-server';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// The API listens on 127.0.0.1 and is driven with fetch + FormData, the way
// `curl -F file=@products.csv localhost:3000/process-urls` is; the images come from a loopback server.

describe('POST /process-urls with a CSV file, then GET /batches/:id/results.csv, over HTTP with a real worker', () => {
  let stack: TestStack;
  let images: ImageServer;
  let api: Server;
  let base: string;
  beforeAll(async () => {
    images = await startImageServer({
      '/red.jpg': (_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end(readFileSync(fixtures.smallPhotoJpeg)),
      '/red-back.png': (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(readFileSync(fixtures.grey16AlphaPng)),
      '/blue.webp': (_req, res) => res.writeHead(200, { 'content-type': 'image/webp' }).end(readFileSync(fixtures.webp)),
    });
    stack = await startStack({ worker: true, env: { ALLOW_PRIVATE_URLS: 'true' } });
    api = stack.api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => api.once('listening', resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
    await stack?.stop();
    await images?.close();
  });

  const postCsv = async (text: string, fields: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('file', new Blob([text], { type: 'text/csv' }), 'products.csv');
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const res = await fetch(`${base}/process-urls`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, json: (await res.json()) as unknown };
  };

  it('queues every URL of products.csv, completes the batch, and results.csv gives each row its output links', async () => {
    const products = `\ufeffSKU,Title,Image URLs\r\nP-1,"Red shirt, large","${images.base}/red.jpg, ${images.base}/red-back.png"\r\nP-2,Blue cap,${images.base}/blue.webp\r\n`;
    const res = await postCsv(products, { variants: 'thumbnail,web' });
    expect(res.status).toBe(202);
    const accepted = BatchAccepted.parse(res.json);
    expect(accepted.jobs.map((j) => j.originalName)).toEqual([`${images.base}/red.jpg`, `${images.base}/red-back.png`, `${images.base}/blue.webp`]);

    const batch = await waitFor(
      async () => {
        const b = BatchStatus.parse(await (await fetch(`${base}/batches/${accepted.batchId}`)).json());
        return b.status === 'completed' && b;
      },
      { timeoutMs: 30_000, what: 'the batch to complete' },
    );
    expect(batch.files.map((f) => [f.line, f.row])).toEqual([
      [2, [['SKU', 'P-1'], ['Title', 'Red shirt, large']]],
      [2, [['SKU', 'P-1'], ['Title', 'Red shirt, large']]],
      [3, [['SKU', 'P-2'], ['Title', 'Blue cap']]],
    ]);

    const csv = await fetch(`${base}/batches/${accepted.batchId}/results.csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows: Record<string, string>[] = parse(await csv.text(), { columns: true });
    expect(rows.map((r) => [r.line, r.url, r.SKU, r.Title, r.state, r.failed_reason])).toEqual([
      ['2', `${images.base}/red.jpg`, 'P-1', 'Red shirt, large', 'completed', ''],
      ['2', `${images.base}/red-back.png`, 'P-1', 'Red shirt, large', 'completed', ''],
      ['3', `${images.base}/blue.webp`, 'P-2', 'Blue cap', 'completed', ''],
    ]);
    // Every output link answers with its variant's image.
    for (const [i, row] of rows.entries()) {
      const jobId = accepted.jobs[i]?.jobId;
      expect([row.output_thumbnail, row.output_web]).toEqual([`${base}/jobs/${jobId}/result?variant=thumbnail`, `${base}/jobs/${jobId}/result?variant=web`]);
      const image = await fetch(row.output_web ?? '');
      expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/webp']);
    }
  });

  it('reports each bad line by number and queues nothing', async () => {
    const res = await postCsv(`url,sku\n${images.base}/red.jpg,A\nftp://files.example/x.jpg,B\n"",C\nhttp://u:p@127.0.0.1/x.jpg,D\n`);
    expect(res.status).toBe(400);
    const problem = Problem.parse(res.json);
    expect(problem.code).toBe('INVALID_URLS');
    expect(problem.detail).toMatch(/3 of 4 URLs refused.*line 3: BAD_SCHEME.*line 4: BAD_URL.*line 5: CREDENTIALS_IN_URL/);
    expect(problem.detail).not.toContain('line 2');
    const counts = await stack.api.ports.queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1 * 3); // the three jobs of the first test only
  });

  it.each([
    ['an empty file', '', 'EMPTY_CSV'],
    ['no URL column', 'sku,title\nA,Red\n', 'NO_URL_COLUMN'],
  ])('refuses %s with its 400 code', async (_name, text, code) => {
    const res = await postCsv(text);
    expect([res.status, Problem.parse(res.json).code]).toEqual([400, code]);
  });

  it('refuses a CSV over 1 MB with 413 FILE_TOO_LARGE', async () => {
    const res = await postCsv(`url\n${'x'.repeat(1024 * 1024 + 1)}\n`);
    expect([res.status, Problem.parse(res.json).code]).toEqual([413, 'FILE_TOO_LARGE']);
  });

  it('answers a CSV body with parts after its close delimiter with 400, as uploads are, and holds nothing', async () => {
    const B = 'csv-boundary';
    const csv = multipartBody(B, [{ name: 'file', filename: 'products.csv', contentType: 'text/csv', data: Buffer.from('url\nhttp://127.0.0.1/red.jpg\n') }]);
    const unclosed = multipartBody(B, [{ name: 'file', filename: 'more.csv', contentType: 'text/csv', data: Buffer.from('url\n') }]).subarray(0, -`--${B}--\r\n`.length);
    const body = Buffer.concat([csv, Buffer.from(`--${B}--\r\n`), unclosed]);
    const port = (api.address() as AddressInfo).port;
    const outcome = await rawRequest({ port, path: '/process-urls', headers: { 'Content-Type': multipartType(B), 'Content-Length': String(body.length) }, chunks: [body], waitMs: 15_000 });
    expect({ status: outcome.status, code: outcome.body?.code }).toEqual({ status: 400, code: 'MALFORMED_MULTIPART' });
    const idle = await Promise.race([stack.api.deps.inFlight.idle().then(() => 'idle'), new Promise((r) => setTimeout(() => r('busy'), 5000).unref())]);
    expect(idle).toBe('idle');
  });

  it('results.csv of an unknown batch is 404 BATCH_NOT_FOUND', async () => {
    const res = await fetch(`${base}/batches/3b241101-e2bb-4255-8caf-4136c566a962/results.csv`);
    expect([res.status, Problem.parse(await res.json()).code]).toEqual([404, 'BATCH_NOT_FOUND']);
  });
});
