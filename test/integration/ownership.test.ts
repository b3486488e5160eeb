import { readFileSync } from 'node:fs';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { fixtures } from '../fixtures/images';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Two keys from the real command (a tsx child process each) and one batch through a real worker.
jest.setTimeout(60_000);

describe('ownership: a batch and everything under it belong to the key that made it', () => {
  let stack: TestStack;
  let alice: CreatedKey;
  let bob: CreatedKey;
  let batchId: string;
  let jobId: string;
  const as = (who: CreatedKey) => ({ 'X-API-Key': who.key });

  beforeAll(async () => {
    [alice, bob] = await Promise.all([createKey('Alice'), createKey('Bob')]);
    stack = await startStack({ worker: true, env: { API_KEYS: `${alice.env},${bob.env}` } });
    const res = await stack.request.post('/process-images').set(as(alice)).attach('images', fixtures.rgbaPng).expect(202);
    ({ batchId } = res.body);
    jobId = res.body.jobs[0].jobId;
    await waitFor(async () => (await stack.request.get(`/batches/${batchId}`).set(as(alice)).expect(200)).body.status === 'completed', { what: 'batch completed' });
  });
  afterAll(() => stack.stop());

  it.each([
    ['the batch', () => `/batches/${batchId}`, 'BATCH_NOT_FOUND'],
    ['its events', () => `/batches/${batchId}/events`, 'BATCH_NOT_FOUND'],
    ['its results CSV', () => `/batches/${batchId}/results.csv`, 'BATCH_NOT_FOUND'],
    ['its job', () => `/jobs/${jobId}`, 'JOB_NOT_FOUND'],
    ['its result', () => `/jobs/${jobId}/result`, 'JOB_NOT_FOUND'],
  ])('another key gets 404 for %s, with the code of one that was never there', async (_what, routeOf, code) => {
    const route = routeOf();
    expect((await stack.request.get(route).set(as(bob)).expect(404)).body.code).toBe(code);
    const never = route.replace(batchId, '3b241101-e2bb-4255-8caf-4136c566a962').replace(jobId, '3b241101-e2bb-4255-8caf-4136c566a962');
    expect((await stack.request.get(never).set(as(bob)).expect(404)).body.code).toBe(code);
  });

  it('the owner reads all of it', async () => {
    await stack.request.get(`/jobs/${jobId}`).set(as(alice)).expect(200);
    await stack.request.get(`/jobs/${jobId}/result`).set(as(alice)).expect(200);
    await stack.request.get(`/batches/${batchId}/results.csv`).set(as(alice)).expect(200);
    const events = await stack.request.get(`/batches/${batchId}/events`).set(as(alice)).expect(200);
    expect(events.text).toMatch(/^event: batch$/m);
  });

  it('keeps a scheduled batch to its owner too', async () => {
    const res = await stack.request.post('/upload').set(as(alice)).field('delayMs', '60000').attach('media', fixtures.rgbaPng).expect(202);
    expect((await stack.request.get(`/batches/${res.body.batchId}`).set(as(alice)).expect(200)).body.status).toBe('scheduled');
    expect((await stack.request.get(`/batches/${res.body.batchId}`).set(as(bob)).expect(404)).body.code).toBe('BATCH_NOT_FOUND');
    expect((await stack.request.get(`/jobs/${res.body.jobId}`).set(as(bob)).expect(404)).body.code).toBe('JOB_NOT_FOUND');
  });

  it('keeps a batch of URLs to its owner too', async () => {
    // Never downloaded successfully (.invalid does not resolve); only who may read the batch matters here.
    const res = await stack.request.post('/process-urls').set(as(alice)).send({ urls: ['https://example.invalid/a.jpg'] }).expect(202);
    await stack.request.get(`/batches/${res.body.batchId}`).set(as(alice)).expect(200);
    expect((await stack.request.get(`/batches/${res.body.batchId}`).set(as(bob)).expect(404)).body.code).toBe('BATCH_NOT_FOUND');
    expect((await stack.request.get(`/jobs/${res.body.jobs[0].jobId}`).set(as(bob)).expect(404)).body.code).toBe('JOB_NOT_FOUND');
  });

  it('keeps a resumable (tus) upload to the key that started it, and its batch too', async () => {
    const bytes = readFileSync(fixtures.rgbaPng);
    const created = await stack.request
      .post('/uploads/tus')
      .set(as(alice))
      .set({ 'Tus-Resumable': '1.0.0', 'Upload-Length': String(bytes.length), 'Upload-Metadata': `filename ${Buffer.from('bug.png').toString('base64')}`, 'Content-Type': 'application/offset+octet-stream' })
      .send(bytes)
      .expect(201);
    const url = String(created.headers.location);
    const uploadId = url.split('/').pop();
    await stack.request.head(url).set(as(bob)).set('Tus-Resumable', '1.0.0').expect(404);
    await stack.request.head(url).set(as(alice)).set('Tus-Resumable', '1.0.0').expect(200);
    expect((await stack.request.post('/uploads/tus/complete').set(as(bob)).send({ uploadIds: [uploadId] }).expect(404)).body.code).toBe('UPLOAD_NOT_FOUND');
    const batch = await stack.request.post('/uploads/tus/complete').set(as(alice)).send({ uploadIds: [uploadId] }).expect(202);
    // Completed: still 404 for the other key (not 409, which would tell it the upload existed).
    expect((await stack.request.post('/uploads/tus/complete').set(as(bob)).send({ uploadIds: [uploadId] }).expect(404)).body.code).toBe('UPLOAD_NOT_FOUND');
    expect((await stack.request.post('/uploads/tus/complete').set(as(alice)).send({ uploadIds: [uploadId] }).expect(409)).body.code).toBe('UPLOAD_ALREADY_USED');
    expect((await stack.request.get(batch.body.statusUrl).set(as(bob)).expect(404)).body.code).toBe('BATCH_NOT_FOUND');
    await stack.request.get(batch.body.statusUrl).set(as(alice)).expect(200);
  });

  it('keeps Idempotency-Key replays to the key that made them', async () => {
    const key = `same-key-${batchId}`;
    const first = await stack.request.post('/upload').set(as(alice)).set('Idempotency-Key', key).attach('media', fixtures.rgbaPng).expect(202);
    const other = await stack.request.post('/upload').set(as(bob)).set('Idempotency-Key', key).attach('media', fixtures.rgbaPng).expect(202);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.body.batchId).not.toBe(first.body.batchId);
    const replay = await stack.request.post('/upload').set(as(alice)).set('Idempotency-Key', key).attach('media', fixtures.rgbaPng).expect(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.batchId).toBe(first.body.batchId);
  });
});
