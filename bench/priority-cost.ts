import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/helpers/redis';

/**
 * What giving every job a priority costs the queue: 200 jobs added in one addBulk, then drained
 * by a worker of concurrency 1 with a no-op processor, with `priority` and without, alternating
 * on a private redis-server. Counts Redis commands (INFO commandstats, scripts' inner commands
 * included) and times the drain. `tsx bench/priority-cost.ts [jobs] [rounds]`
 */
async function drainOnce(url: string, prefix: string, jobs: number, priority: number | undefined) {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const stats = new Redis(url);
  const queue = new Queue('images', { connection, prefix });
  await queue.waitUntilReady();
  await stats.config('RESETSTAT');
  const opts = (i: number) => ({ jobId: `j${i}`, attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 86400, count: 100000 }, ...(priority === undefined ? {} : { priority }) });
  const addStarted = performance.now();
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'process-image', data: { i }, opts: opts(i) })));
  const addMs = performance.now() - addStarted;
  let done = 0;
  let finished: () => void = () => {};
  const all = new Promise<void>((resolve) => (finished = resolve));
  const started = performance.now();
  const workerConnection = connection.duplicate();
  const worker = new Worker('images', async () => undefined, { connection: workerConnection, prefix, concurrency: 1 });
  worker.on('completed', () => ++done === jobs && finished());
  await all;
  const drainMs = performance.now() - started;
  await worker.close();
  const info = await stats.info('commandstats');
  const calls = [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, n]) => [name, Number(n)] as const);
  const total = calls.filter(([name]) => !['info', 'config|resetstat', 'config'].includes(name!)).reduce((a, [, n]) => a + n, 0);
  await queue.obliterate({ force: true });
  await queue.close();
  await Promise.all([connection.quit(), workerConnection.quit(), stats.quit()]);
  return { addMs, drainMs, commands: total, byCommand: Object.fromEntries(calls) };
}

async function main() {
  const jobs = Number(process.argv[2] ?? 200);
  const rounds = Number(process.argv[3] ?? 5);
  const server = await startRedisServer();
  const rows: Record<string, { addMs: number[]; drainMs: number[]; commands: number[] }> = { none: { addMs: [], drainMs: [], commands: [] }, priority: { addMs: [], drainMs: [], commands: [] } };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [label, priority] of [['none', undefined], ['priority', 2]] as const) {
        const result = await drainOnce(server.url, `cost-${r}-${label}`, jobs, priority);
        const row = rows[label]!;
        row.addMs.push(result.addMs);
        row.drainMs.push(result.drainMs);
        row.commands.push(result.commands);
        if (r === 0) process.stdout.write(`${label} commands by name: ${JSON.stringify(result.byCommand)}\n`);
      }
    }
  } finally {
    await server.stop();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [label, row] of Object.entries(rows)) {
    process.stdout.write(`${label}: ${jobs} jobs, commands ${median(row.commands)} (${(median(row.commands) / jobs).toFixed(1)}/job), addBulk ${median(row.addMs).toFixed(1)} ms, drain ${median(row.drainMs).toFixed(0)} ms (median of ${rounds}; drains ${row.drainMs.map((x) => x.toFixed(0)).join(', ')})\n`);
  }
}

void main();
