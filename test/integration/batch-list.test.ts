import { randomUUID } from 'node:crypto';
import { createBatchIndex, batchIndexKeys } from '../../src/queue/batch-index';
import { createKey, type CreatedKey } from '../helpers/api-keys';
import { monitorRedis } from '../helpers/redis-monitor';
import { fixtures } from '../fixtures/images';
import { startStack, testRedisUrl, waitFor, type TestStack } from '../helpers/stack';

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

  it('shows each batch as GET /batches/:batchId does, without its files', async () => {
    const { items } = (await stack.request.get('/batches').set(as(alice)).expect(200)).body as Page;
    for (const item of items) {
      const { files: _files, ...batch } = (await stack.request.get(item.statusUrl).set(as(alice)).expect(200)).body;
      expect(item).toEqual({ ...batch, statusUrl: item.statusUrl });
    }
    expect(items.map((b) => b.status).sort()).toEqual(['scheduled', 'scheduled', 'scheduled', 'waiting', 'waiting']);
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
    await stack.api.ports.batchIndex.forget(undefined, [res.body.batchId]);
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

describe('GET /batches?status= when the index runs out mid-page', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  it('lists every matching batch even when a page fills before the last entries it read', async () => {
    // Newest first: waiting, waiting, gone, waiting, waiting. With limit=3 the first read takes
    // three entries (two items), the second the last two, of which the first fills the page.
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await stack.request.post('/upload').attach('media', fixtures.rgbaPng).expect(202)).body.batchId);
    await stack.api.ports.redis.del(`${stack.world.prefix}:images:batch:${made[2]}`);
    const listed: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const { body }: { body: Page } = await stack.request.get(`/batches?limit=3&status=waiting${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      listed.push(...body.items.map((b) => b.batchId));
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    expect(listed).toEqual([made[4], made[3], made[1], made[0]]);
  });
});

describe('the batch index and retention, with a worker', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Finished batches live RETENTION_HOURS: 0.0003 h is about 1 s; the workers' upkeep runs every 200 ms.
    stack = await startStack({ worker: true, env: { RETENTION_HOURS: '0.0003', RECONCILE_INTERVAL_MS: '200' } });
  });
  afterAll(() => stack.stop());

  it('prunes the entries of expired batches that no request lists', async () => {
    const res = await stack.request.post('/upload').attach('media', fixtures.rgbaPng).expect(202);
    await waitFor(async () => (await stack.request.get(res.body.statusUrl).expect(200)).body.state === 'completed', { what: 'the upload to complete' });
    const keys = batchIndexKeys(stack.world.prefix);
    const { redis } = stack.api.ports;
    await waitFor(async () => (await redis.zcard(keys.byOwner(undefined))) + (await redis.zcard(keys.expiry)) === 0, { what: 'the index entries to be pruned', timeoutMs: 10_000 });
  });
});

describe('GET /batches cost', () => {
  let stack: TestStack;
  let monitor: { close(): void };
  let sent: string[][] = [];
  const upload = async () => (await stack.request.post('/upload').attach('media', fixtures.rgbaPng).expect(202)).body as { batchId: string; jobId: string };

  beforeAll(async () => {
    stack = await startStack();
    for (let i = 0; i < 20; i++) {
      const { batchId, jobId } = await upload();
      // No worker: the outcome is recorded as the worker would.
      await stack.api.ports.batches.recordOutcome(batchId, jobId, { state: 'failed', failedReason: 'CORRUPT_IMAGE: test', attemptsMade: 1 });
    }
    const { redis } = stack.api.ports;
    const addr = /addr=(\S+)/.exec(String(await redis.call('CLIENT', 'INFO')))?.[1];
    monitor = await monitorRedis(testRedisUrl(), ({ args, source }) => {
      if (source === addr) sent.push([...args]);
    });
  });
  afterAll(async () => {
    monitor?.close();
    await stack.stop();
  });

  /** The commands the API's connection sent to Redis while it served `path`, which must list `items` batches. */
  async function commandsFor(path: string, items = 20): Promise<string[]> {
    sent = [];
    const { body } = await stack.request.get(path).expect(200);
    expect(body.items).toHaveLength(items);
    // The monitor's stream lags the commands: this marker shows it has caught up.
    const marker = randomUUID();
    await stack.api.ports.redis.echo(marker);
    await waitFor(async () => sent.some((args) => args[1] === marker), { what: 'the monitor to catch up' });
    return sent.filter((args) => args[1] !== marker).map((args) => args[0]?.toLowerCase() ?? '');
  }

  it('serves a page of 20 finished batches in two commands: the index page, and one script for every record', async () => {
    await commandsFor('/batches?limit=20'); // loads the script
    expect(await commandsFor('/batches?limit=20')).toEqual(['zrange', 'evalsha']);
  });

  it('serves a later page in three: the cursor\'s own millisecond is read beside the older entries', async () => {
    const { nextCursor } = (await stack.request.get('/batches?limit=10').expect(200)).body as Page;
    expect(await commandsFor(`/batches?limit=10&cursor=${nextCursor}`, 10)).toEqual(['zrange', 'zrange', 'evalsha']);
  });

  it('asks the queue only for the state of each file still in flight', async () => {
    for (let i = 0; i < 5; i++) await upload();
    await commandsFor('/batches?limit=20'); // loads BullMQ's state script
    expect(await commandsFor('/batches?limit=20')).toEqual(['zrange', 'evalsha', ...Array(5).fill('evalsha')]);
  });
});
