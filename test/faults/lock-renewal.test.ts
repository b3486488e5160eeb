import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_OUTPUT, DEFAULT_SPEC } from '../../src/pipeline';
import { enqueueBatch } from '../../src/queue/enqueue-batch';
import { startStack, waitFor, type TestStack } from '../helpers/stack';

// Jobs deliberately run for several lock durations on an oversubscribed CPU.
jest.setTimeout(90_000);

describe('lock renewal while Sharp keeps every core busy', () => {
  let stack: TestStack;
  const burners: ChildProcess[] = [];

  beforeAll(async () => {
    stack = await startStack({ worker: true, env: { LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500', WORKER_CONCURRENCY: '2' } });
  });
  afterAll(async () => {
    for (const b of burners) b.kill('SIGKILL');
    await stack.stop();
  });

  it('keeps long jobs locked: none is taken for stalled, each runs once', async () => {
    const stalled: string[] = [];
    stack.worker?.worker.current().on('stalled', (jobId) => stalled.push(jobId));
    // Two busy-looping processes on top of two Sharp jobs: twice as many runnable threads as cores.
    for (let i = 0; i < 2; i++) burners.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));

    const input = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#1c8', noise: { type: 'gaussian', mean: 100, sigma: 30 } } })
      .jpeg()
      .toBuffer();
    const images = ['a', 'b'].map((name) => {
      writeFileSync(path.join(stack.world.uploadDir, name), input);
      return { originalName: `${name}.jpg`, storedName: name, size: input.length, type: 'jpeg' as const };
    });
    // The spec is data: a large AVIF output makes each job take several seconds of CPU.
    const slowSpec = { ...DEFAULT_SPEC, variants: [{ ...DEFAULT_OUTPUT, name: 'default', width: 1200, format: 'avif' as const, quality: 60 }] as const };
    const { files } = await enqueueBatch({ ...stack.api.ports, policy: stack.world.config.jobs }, images, slowSpec);

    const jobs = await waitFor(
      async () => {
        const all = await Promise.all(files.map((f) => stack.api.ports.queue.getJob(f.jobId)));
        return all.every((j) => j?.finishedOn) && all;
      },
      { timeoutMs: 80_000, intervalMs: 200, what: 'slow jobs finished' },
    );

    for (const job of jobs) {
      if (!job?.finishedOn || !job.processedOn) throw new Error('job vanished');
      expect(job.finishedOn - job.processedOn).toBeGreaterThan(2 * 1000); // outlived two lock durations
      expect(await job.getState()).toBe('completed');
      expect(job.stalledCounter).toBe(0);
      expect(job.attemptsStarted).toBe(1);
    }
    expect(stalled).toEqual([]);
  });
});
