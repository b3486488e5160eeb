import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get, type ClientRequest } from 'node:http';
import type { Corpus } from './corpus';
import type { UploadItem } from './http-client';
import { readProc } from './proc-stats';
import { percentiles, sleep, type Percentiles } from './stats';
import { probeUploads, uploadAll } from './upload-driver';

export interface LoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface StreamsCondition {
  readonly streams: number;
  readonly uploadMs: Percentiles;
  readonly loopDelayMs: LoopDelay;
  readonly apiRssMB: number;
}

export interface StreamsResult {
  readonly without: StreamsCondition;
  readonly with: StreamsCondition;
  readonly p99Ratio: number;
  /** Streams that ended or failed before the bench closed them. */
  readonly lost: number;
  readonly batches: number;
}

export interface StreamsDeps {
  readonly base: URL;
  readonly corpus: Corpus;
  readonly apiPid: number;
  /** Where the API's preloaded probe writes its event-loop delay (bench/loop-delay-probe.cjs). */
  readonly loopDelayFile: string;
  readonly streams: number;
  readonly probes: number;
  readonly batches: number;
}

/** The API's event-loop delay since the last call: signal its probe, wait for the file. */
async function loopDelay(pid: number, file: string): Promise<LoopDelay> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(file); i++) await sleep(10);
  await sleep(10);
  return JSON.parse(readFileSync(file, 'utf8')) as LoopDelay;
}

/** Opens `count` event streams spread over `batchIds`; resolves once every one has its snapshot. */
async function openStreams(base: URL, batchIds: readonly string[], count: number) {
  // Its own agent: one socket per stream, never pooled with the uploads'.
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const requests: ClientRequest[] = [];
  let lost = 0;
  let closing = false;
  const opened = Array.from({ length: count }, (_, i) =>
    new Promise<void>((resolve, reject) => {
      const req = get(new URL(`/batches/${batchIds[i % batchIds.length]}/events`, base), { agent, headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`stream ${i}: HTTP ${res.statusCode}`));
        let seen = '';
        res.on('data', (chunk: Buffer) => {
          if (seen.length < 64) seen += chunk.toString();
          if (seen.includes('event: snapshot')) resolve();
        });
        res.on('end', () => void (closing || lost++));
      });
      req.on('error', (err) => (closing ? undefined : (lost++, reject(err))));
      requests.push(req);
    }),
  );
  await Promise.all(opened);
  return {
    lost: () => lost,
    close: () => {
      closing = true;
      for (const req of requests) req.destroy();
      agent.destroy();
    },
  };
}

/**
 * Issue 8's scale check: with the worker stopped, so the API alone is measured, single small
 * uploads one at a time with no event streams open and then with `streams` open on batches that
 * stay waiting; the API's RSS and event-loop delay (from a probe preloaded into it) in each.
 */
export async function measureOpenStreams(deps: StreamsDeps): Promise<StreamsResult> {
  const probe: UploadItem = { name: deps.corpus.probe.name, mime: deps.corpus.probe.mime, path: deps.corpus.probe.path };
  const held: string[] = [];
  await uploadAll(deps.base, Array.from({ length: deps.batches }, () => [probe]), 4, (o) => o.accepted && held.push(o.accepted.batchId));
  if (held.length < deps.batches) throw new Error(`Expected ${deps.batches} batches to hold the streams but ${held.length} were accepted`);

  const condition = async (streams: number): Promise<StreamsCondition> => {
    await loopDelay(deps.apiPid, deps.loopDelayFile);
    const { latencies, errors } = await probeUploads(deps.base, probe, { gapMs: 20, max: deps.probes, keepGoing: () => true });
    if (errors) throw new Error(`${errors} probe uploads failed with ${streams} streams open`);
    return { streams, uploadMs: percentiles(latencies), loopDelayMs: await loopDelay(deps.apiPid, deps.loopDelayFile), apiRssMB: readProc(deps.apiPid)?.rssMB ?? Number.NaN };
  };

  const without = await condition(0);
  const open = await openStreams(deps.base, held, deps.streams);
  try {
    const withStreams = await condition(deps.streams);
    return { without, with: withStreams, p99Ratio: withStreams.uploadMs.p99 / without.uploadMs.p99, lost: open.lost(), batches: held.length };
  } finally {
    open.close();
  }
}
