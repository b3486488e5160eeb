import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { closeServer, listen } from '../../src/api/server';
import { compareEventIds, EVENT_ID } from '../../src/queue/events';
import { fixtures } from '../fixtures/images';
import { connectionsTo, watchBatchEvents, type ReceivedEvent, type WatchedBatch } from '../helpers/event-source';
import { startApiProcess, startWorkerProcess, type ApiProcess, type ServiceProcess } from '../helpers/processes';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Real processes: a second API and the worker start from source with tsx, a few seconds each.
jest.setTimeout(120_000);

describe('GET /batches/:batchId/events', () => {
  let stack: TestStack;
  let server: Server;
  let base: string;
  let second: ApiProcess;
  let worker: ServiceProcess | undefined;
  const open: WatchedBatch[] = [];
  const watch = (url: string, options?: { lastEventId?: string }) => {
    const w = watchBatchEvents(url, options);
    open.push(w);
    return w;
  };

  beforeAll(async () => {
    stack = await startStack();
    server = await listen(stack.api.app, { host: '127.0.0.1', port: 0, requestTimeoutMs: 30_000 });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    // Drained for a minute: if open streams held the server's drain, its shutdown below would hang past the test's bound.
    second = await startApiProcess(stack.world, { HTTP_DRAIN_MS: '60000', SHUTDOWN_TIMEOUT_MS: '120000' });
  });
  afterAll(async () => {
    for (const w of open) w.close();
    await worker?.stop();
    await second?.stop();
    await stack.api.endStreams[1]();
    await closeServer(server, 1000);
    await stack.stop();
  });

  const upload = async (...files: string[]) => {
    let req = stack.request.post('/process-images');
    for (const f of files) req = req.attach('images', f);
    const res = await req.expect(202);
    return res.body as { batchId: string; jobs: Array<{ jobId: string }> };
  };
  const getBatch = async (batchId: string) => (await stack.request.get(`/batches/${batchId}`).expect(200)).body as { status: string; files: Array<{ jobId: string; state: string }> };

  let finished: { batchId: string; events: ReceivedEvent[] };

  it('streams snapshot → progress → file × N → batch and ends, the same from a second API process', async () => {
    const { batchId, jobs } = await upload(fixtures.photoJpeg, fixtures.webp, fixtures.truncatedJpeg);
    const here = watch(`${base}/batches/${batchId}/events`);
    const there = watch(`${second.baseUrl}/batches/${batchId}/events`);
    const snapshot = await here.first('snapshot');
    await there.first('snapshot');
    // No worker yet: the snapshot is the waiting batch, exactly as GET /batches/:id serves it.
    expect(snapshot.data).toEqual(await getBatch(batchId));
    expect(snapshot.data).toMatchObject({ status: 'waiting' });

    // Every progress report written at once: the fixtures' jobs end well within the default delay.
    worker = await startWorkerProcess(stack.world, { PROGRESS_AFTER_MS: '0' });
    const events = await here.ended();
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('snapshot');
    expect(types.at(-1)).toBe('batch');
    expect(types.filter((t) => t === 'snapshot' || t === 'batch')).toHaveLength(2);

    const files = events.filter((e) => e.type === 'file').map((e) => e.data as { jobId: string; state: string; result?: unknown; failedReason?: string });
    expect(files.map((f) => f.jobId).sort()).toEqual(jobs.map((j) => j.jobId).sort());
    expect(files.find((f) => f.jobId === jobs[2]?.jobId)).toEqual({ jobId: jobs[2]?.jobId, state: 'failed', failedReason: expect.stringMatching(/^CORRUPT_IMAGE/) });
    for (const f of files.filter((f) => f.jobId !== jobs[2]?.jobId)) expect(f).toMatchObject({ state: 'completed', result: { format: 'jpeg', width: 512 } });

    // Today's worker reports progress at the start of each image; every progress comes before its file's outcome.
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) {
      const { jobId } = p.data as { jobId: string };
      expect(events.indexOf(p)).toBeLessThan(events.findIndex((e) => e.type === 'file' && (e.data as { jobId: string }).jobId === jobId));
    }

    expect(events.every((e) => EVENT_ID.test(e.id))).toBe(true);
    expect(events.at(-1)?.data).toEqual(await getBatch(batchId));
    expect(events.at(-1)?.data).toMatchObject({ status: 'completed-with-errors' });
    // The other process read the same Redis stream: the same events, with the same ids.
    expect(await there.ended()).toEqual(events);
    finished = { batchId, events };
  });

  it('resumes after Last-Event-ID with what came after it, and no snapshot', async () => {
    const { batchId, events } = finished;
    const last = events.at(-1) as ReceivedEvent;
    const resumeAt = events.find((e) => e.type !== 'snapshot' && compareEventIds(e.id, last.id) < 0 && e.id !== events[0]?.id) ?? (events[0] as ReceivedEvent);
    const missed = events.filter((e) => e.type === 'file' && compareEventIds(e.id, resumeAt.id) > 0).map((e) => (e.data as { jobId: string }).jobId);

    const resumed = await watch(`${base}/batches/${batchId}/events`, { lastEventId: resumeAt.id }).ended();
    expect(resumed.map((e) => e.type)).not.toContain('snapshot');
    expect(resumed.filter((e) => e.type === 'file').map((e) => (e.data as { jobId: string }).jobId).sort()).toEqual(missed.sort());
    expect(resumed.at(-1)).toMatchObject({ type: 'batch', data: last.data });
  });

  it.each([
    ['a position the stream no longer holds', '1-0'],
    ['a malformed id', 'not-an-id'],
  ])('answers %s with a fresh snapshot', async (_what, lastEventId) => {
    const events = await watch(`${base}/batches/${finished.batchId}/events`, { lastEventId }).ended();
    expect(events.map((e) => e.type)).toEqual(['snapshot', 'batch']);
  });

  it('gives a finished batch its snapshot and batch at once, then ends', async () => {
    const events = await watch(`${base}/batches/${finished.batchId}/events`).ended();
    expect(events.map((e) => e.type)).toEqual(['snapshot', 'batch']);
    expect(events[0]?.data).toEqual(events[1]?.data);
    expect(events[1]?.data).toEqual(await getBatch(finished.batchId));
  });

  it('answers an unknown batch with 404 problem+json before any stream', async () => {
    const res = await fetch(`${base}/batches/${randomUUID()}/events`, { headers: { Accept: 'text/event-stream' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'BATCH_NOT_FOUND' });
  });

  it('is documented in OpenAPI as text/event-stream, with its events and their schemas', async () => {
    const doc = (await stack.request.get('/openapi.json').expect(200)).body as {
      paths: Record<string, { get: { description: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> } }>;
    };
    const op = doc.paths['/batches/{batchId}/events']?.get;
    for (const name of ['`snapshot`', '`progress`', '`file`', '`batch`', 'Last-Event-ID']) expect(op?.description).toContain(name);
    const stream = JSON.stringify(op?.responses['200']?.content?.['text/event-stream']?.schema);
    // The data schemas: the batch body, progress, and both shapes of a file event.
    for (const part of ['#/components/schemas/BatchStatus', '#/components/schemas/BatchProgressEvent', '#/components/schemas/ImageResult', 'failedReason']) expect(stream).toContain(part);
    expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['404', '503']));
  });

  describe('with the worker stopped (batches stay open)', () => {
    let waiting: string;
    beforeAll(async () => {
      await worker?.stop();
      worker = undefined;
      ({ batchId: waiting } = await upload(fixtures.webp));
    });

    it('releases the subscription when the client disconnects', async () => {
      expect(stack.api.events.subscribers).toBe(0);
      const w = watch(`${base}/batches/${waiting}/events`);
      await w.first('snapshot');
      expect(stack.api.events.subscribers).toBe(1);
      w.close();
      await waitFor(async () => stack.api.events.subscribers === 0, { what: 'the subscription released' });
    });

    it('keeps one Redis reader however many streams are open', async () => {
      const redisPort = Number(new URL(stack.world.config.redis.url).port || 6379);
      const pid = second.child.pid as number;
      const one = watch(`${second.baseUrl}/batches/${waiting}/events`);
      await one.first('snapshot');
      const withOne = connectionsTo(pid, redisPort);
      expect(withOne).toBeGreaterThan(0); // the count sees the process's Redis connections at all
      const many = Array.from({ length: 50 }, () => watch(`${second.baseUrl}/batches/${waiting}/events`));
      await Promise.all(many.map((w) => w.first('snapshot')));
      expect(connectionsTo(pid, redisPort)).toBe(withOne);

      // Shutdown ends the 51 open streams first; otherwise the 60 s drain would hold the exit past this test's bound.
      let bound: NodeJS.Timeout | undefined;
      const exit = await Promise.race([second.stop('SIGTERM'), new Promise((resolve) => (bound = setTimeout(() => resolve('still running'), 30_000)))]);
      clearTimeout(bound);
      expect(exit).toBe(0);
      for (const w of [one, ...many]) await expect(w.ended(5000)).rejects.toThrow(/before batch/);
    });
  });
});
