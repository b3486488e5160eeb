import { randomUUID } from 'node:crypto';
import { createBatchIndex, batchIndexKeys } from '../../src/queue/batch-index';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { fixtures } from '../fixtures/images';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Keys from the real command (a tsx child process each); no worker: batches stay waiting or scheduled.
jest.setTimeout(60_000);

interface Page {
  items: { batchId: string; status: string; statusUrl: string }[];
  nextCursor: string | null;
}

describe('GET /batches', () => {
  let stack: TestStack;
  let alice: CreatedKey;
  let bob: CreatedKey;
  const made: { batchId: string; scheduled: boolean }[] = [];
  let bobsBatch: string;
  const as = (who: CreatedKey) => ({ 'X-API-Key': who.key });

  /** Every page from the first, following nextCursor to the end. */
  async function allPages(who: CreatedKey, query: string): Promise<Page[]> {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: Page } = await stack.request.get(`/batches?${query}${cursor ? `&cursor=${cursor}` : ''}`).set(as(who)).expect(200);
      pages.push(res.body as Page);
      cursor = (res.body as Page).nextCursor;
    } while (cursor !== null && pages.length < 20);
    return pages;
  }

  beforeAll(async () => {
    [alice, bob] = await Promise.all([createKey('Alice'), createKey('Bob')]);
    stack = await startStack({ env: { API_KEYS: `${alice.env},${bob.env}` } });
    for (const scheduled of [false, true, false, true, true]) {
      const upload = stack.request.post('/upload').set(as(alice));
      const res = await (scheduled ? upload.field('delayMs', '600000') : upload).attach('media', fixtures.rgbaPng).expect(202);
      made.push({ batchId: res.body.batchId, scheduled });
    }
    bobsBatch = (await stack.request.post('/upload').set(as(bob)).attach('media', fixtures.rgbaPng).expect(202)).body.batchId;
  });
  afterAll(() => stack.stop());

  it('lists the caller\'s batches newest first, a page at a time, each once', async () => {
    const pages = await allPages(alice, 'limit=2');
    expect(pages.map((p) => p.items.length)).toEqual([2, 2, 1]);
    const listed = pages.flatMap((p) => p.items);
    expect(listed.map((b) => b.batchId)).toEqual(made.map((b) => b.batchId).reverse());
    expect(listed[0]).toMatchObject({ statusUrl: `/batches/${listed[0]?.batchId}`, progress: { total: 1 } });
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it('shows another key only its own batches', async () => {
    const res = await stack.request.get('/batches').set(as(bob)).expect(200);
    expect(res.body).toEqual({ items: [expect.objectContaining({ batchId: bobsBatch })], nextCursor: null });
  });

  it.each([
    ['scheduled', true],
    ['waiting', false],
  ])('filters by status=%s across pages', async (status, scheduled) => {
    const listed = (await allPages(alice, `limit=1&status=${status}`)).flatMap((p) => p.items);
    expect(listed.map((b) => b.status)).toEqual(listed.map(() => status));
    expect(listed.map((b) => b.batchId)).toEqual(made.filter((b) => b.scheduled === scheduled).map((b) => b.batchId).reverse());
  });

  it.each([
    ['a cursor that is not one', 'cursor=bm90LWEtY3Vyc29y'],
    ['an unknown status', 'status=lost'],
    ['a limit over 100', 'limit=101'],
  ])('refuses %s with 400 INVALID_REQUEST', async (_what, query) => {
    expect((await stack.request.get(`/batches?${query}`).set(as(alice)).expect(400)).body.code).toBe('INVALID_REQUEST');
  });

  it('pages through batches made in the same millisecond without losing or repeating one', async () => {
    const index = createBatchIndex(stack.api.ports.redis, stack.world.prefix);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    await stack.api.ports.redis.zadd(batchIndexKeys(stack.world.prefix).byOwner('ties'), ...ids.flatMap((id) => [1000, id]));
    const seen: string[] = [];
    let after: { createdAtMs: number; batchId: string } | undefined;
    for (let page = await index.page('ties', after, 2); page.length > 0; page = await index.page('ties', after, 2)) {
      seen.push(...page.map((e) => e.batchId));
      after = page.at(-1);
    }
    expect(seen).toEqual([...ids].sort().reverse());
  });
});

describe('GET /batches and retention', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Unfinished batches live UPLOAD_RETENTION_HOURS: 0.0005 h is under 2 s.
    stack = await startStack({ env: { RETENTION_HOURS: '0.0003', UPLOAD_RETENTION_HOURS: '0.0005' } });
  });
  afterAll(() => stack.stop());

  it('moves a finished batch\'s index expiry to its shorter finished lifetime', async () => {
    // The API's own stack has no worker; record the outcome as the worker would.
    const res = await stack.request.post('/upload').attach('media', fixtures.rgbaPng).expect(202);
    const { expiry } = batchIndexKeys(stack.world.prefix);
    const pending = Number(await stack.api.ports.redis.zscore(expiry, ` ${res.body.batchId}`));
    await stack.api.ports.batches.recordOutcome(res.body.batchId, res.body.jobId, { state: 'failed', failedReason: 'CORRUPT_IMAGE: test', attemptsMade: 1 });
    const finished = Number(await stack.api.ports.redis.zscore(expiry, ` ${res.body.batchId}`));
    // Pending: 1.8 s from the upload; finished: 1 s from now.
    expect(finished).toBeLessThan(pending);
    expect(finished).toBeGreaterThan(Date.now() - 1000);
    await stack.api.ports.batchIndex.forget(undefined, res.body.batchId);
  });

  it('drops expired batches from the list and prunes their index entries (without keys: one shared index)', async () => {
    const res = await stack.request.post('/upload').attach('media', fixtures.rgbaPng).expect(202);
    expect((await stack.request.get('/batches').expect(200)).body.items).toEqual([expect.objectContaining({ batchId: res.body.batchId })]);
    const keys = batchIndexKeys(stack.world.prefix);
    expect(await stack.api.ports.redis.zcard(keys.byOwner(undefined))).toBe(1);
    await waitFor(async () => (await stack.api.ports.batches.get(res.body.batchId)) === undefined, { what: 'the batch record to expire', timeoutMs: 10_000 });
    expect((await stack.request.get('/batches').expect(200)).body).toEqual({ items: [], nextCursor: null });
    expect(await stack.api.ports.redis.zcard(keys.byOwner(undefined))).toBe(0);
    expect(await stack.api.ports.redis.zcard(keys.expiry)).toBe(0);
  });
});
