import { readFileSync } from 'node:fs';
import type { Corpus } from './corpus';
import type { UploadItem } from './http-client';
import { readProc, startLoadMeter } from './proc-stats';
import { percentiles, type Percentiles } from './stats';
import { chunk, uploadAll } from './upload-driver';

export interface EnqueueResult {
  readonly files: number;
  readonly filesPerRequest: number;
  readonly clients: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly wallS: number;
  readonly filesPerS: number;
  readonly requestMs: Percentiles;
  readonly cpuMsPerFile: Readonly<Record<'api' | 'redis' | 'bench client', number>>;
  readonly apiPeakRssMB: number;
  readonly otherCores: number;
}

/**
 * How fast one API process takes tiny images (multipart parse, content sniffing, disk write,
 * batch record, addBulk) with no worker running, so nothing else competes but the client.
 */
export async function measureEnqueueRate(deps: { base: URL; corpus: Corpus; files: number; clients: number; pids: { api: number; redis: number } }): Promise<EnqueueResult> {
  const tiny: UploadItem = { name: deps.corpus.tiny.name, mime: deps.corpus.tiny.mime, data: readFileSync(deps.corpus.tiny.path) };
  const requests = chunk(Array.from({ length: deps.files }, () => tiny), 10);
  const ms: number[] = [];
  let accepted = 0;
  let rejected = 0;
  const cpu0 = { api: readProc(deps.pids.api)?.cpuS ?? 0, redis: readProc(deps.pids.redis)?.cpuS ?? 0, client: process.cpuUsage() };
  const meter = startLoadMeter(() => [deps.pids.api, deps.pids.redis]);
  const t0 = performance.now();
  await uploadAll(deps.base, requests, deps.clients, (o) => {
    ms.push(o.ms);
    if (o.accepted) accepted += o.accepted.files;
    else rejected += o.files;
  });
  const wallS = (performance.now() - t0) / 1000;
  const otherCores = meter.otherCores();
  const client = process.cpuUsage(cpu0.client);
  const api = readProc(deps.pids.api);
  const perFile = (s: number) => (s * 1000) / deps.files;
  return {
    files: deps.files,
    filesPerRequest: 10,
    clients: deps.clients,
    accepted,
    rejected,
    wallS,
    filesPerS: accepted / wallS,
    requestMs: percentiles(ms),
    cpuMsPerFile: {
      api: perFile((api?.cpuS ?? 0) - cpu0.api),
      redis: perFile((readProc(deps.pids.redis)?.cpuS ?? 0) - cpu0.redis),
      'bench client': perFile((client.user + client.system) / 1e6),
    },
    apiPeakRssMB: api?.hwmMB ?? Number.NaN,
    otherCores,
  };
}
