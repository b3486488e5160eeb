import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Corpus } from './corpus';
import { runClient } from './end-to-end';
import type { ProcessGroup } from './process-group';
import { readProc } from './proc-stats';
import type { Percentiles } from './stats';

export interface ReceiverResult {
  readonly sent: number;
  readonly accepted: number;
  readonly uploadedMB: number;
  readonly cpuS: number;
  readonly cpuMsPerMB: number;
  readonly clientCpuS: number;
  readonly ingestS: number;
  readonly uploadMs: Percentiles;
  readonly peakRssMB: number;
  readonly otherCores: number;
}

/**
 * The bare receiver (bench/bare-receiver.ts) fed by the end-to-end client with the same
 * requests, clients and streamed bodies: its CPU per uploaded MB is the floor the API's is
 * compared with. Files go to `dir`, removed afterwards.
 */
export async function measureBareReceiver(deps: { corpus: Corpus; clients: number; filesPerRequest: number; group: ProcessGroup; dir: string }): Promise<ReceiverResult> {
  mkdirSync(deps.dir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'bare-receiver.ts'), deps.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = deps.group.adopt('bare receiver', child);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`bare receiver exited with ${code} before listening`)));
      createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    });
    const { result, cpuAtStart, meter } = await runClient(
      {
        base: `http://127.0.0.1:${port}`,
        items: deps.corpus.files.map((f) => ({ name: f.name, mime: f.mime, path: f.path })),
        filesPerRequest: deps.filesPerRequest,
        clients: deps.clients,
        pollMs: 250,
        timeoutS: 600,
        uploadOnly: true,
      },
      { receiver: server.pid },
    );
    const now = readProc(server.pid);
    const cpuS = (now?.cpuS ?? 0) - (cpuAtStart.get('receiver') ?? 0);
    const uploadedMB = (deps.corpus.totalBytes / 1e6) * (result.accepted / result.sent);
    return {
      sent: result.sent,
      accepted: result.accepted,
      uploadedMB,
      cpuS,
      cpuMsPerMB: (cpuS * 1000) / uploadedMB,
      clientCpuS: result.cpuS,
      ingestS: (result.lastUploadAt - result.firstByteAt) / 1000,
      uploadMs: result.uploadMs,
      peakRssMB: now?.hwmMB ?? Number.NaN,
      otherCores: meter.otherCores(),
    };
  } finally {
    await server.stop();
    rmSync(deps.dir, { recursive: true, force: true });
  }
}
