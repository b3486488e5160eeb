import type { Inspector } from './stack';
import { sleep } from './stats';

/** Jobs not finished yet: waiting, active, delayed (retry backoff) or prioritized. */
export async function unfinishedJobs(inspector: Inspector): Promise<number> {
  const counts = await inspector.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Waits until the queue has nothing left to do, checking a few times a second. */
export async function waitForEmptyQueue(inspector: Inspector, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await unfinishedJobs(inspector)) > 0) {
    if (Date.now() > deadline) throw new Error(`the queue still had work after ${timeoutMs} ms`);
    await sleep(250);
  }
}
