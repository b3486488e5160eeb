import { Command } from 'commander';
import type { BatchStatus, FileStatus } from '../api-types';
import { createOutputNamer, downloadResults } from '../download-results';
import { ApiProblemError, EXIT, UsageError } from '../errors';
import { findImages, type FoundImage, type SkippedFile } from '../find-images';
import { followBatch } from '../follow-batch';
import { createApiClient } from '../http-client';
import { createLimiter } from '../limiter';
import { planRequests } from '../plan-requests';
import { accessOf, positiveInt, withServerOptions, type ServerFlags } from '../server-options';
import { createTerminal, type Terminal } from '../terminal';
import { outputFields, withOutputOptions, type OutputFlags } from './output-options';

interface UploadFlags extends ServerFlags, OutputFlags {
  readonly wait: boolean;
  readonly out?: string;
  readonly concurrency: number;
}

/** One input file and what became of it. */
interface FileRecord {
  readonly path: string;
  readonly image?: FoundImage;
  batchId: string | null;
  jobId: string | null;
  state: 'queued' | 'completed' | 'failed';
  failedReason: string | null;
  outputs: string[];
}

// Codes that refuse a request for one of its files: sent again one by one, only that file fails.
const PER_FILE_CODES = ['UNSUPPORTED_MEDIA_TYPE', 'FILE_TOO_LARGE', 'TOO_MANY_PIXELS', 'OUTPUT_TOO_LARGE'];

export function uploadCommand(): Command {
  const command = new Command('upload')
    .description('upload images (files, or folders searched recursively; non-images are skipped by content) and optionally wait for and download the results')
    .argument('<paths...>', 'image files or folders');
  withOutputOptions(withServerOptions(command))
    .option('-w, --wait', 'follow the batches until every file is processed (live events, polling as a fallback)', false)
    .option('-o, --out <dir>', 'download every result into DIR, named after its input and variant (implies --wait)')
    .option('-c, --concurrency <n>', 'requests in flight at once, uploads and downloads', positiveInt, 2)
    .action(async (paths: string[], flags: UploadFlags) => {
      process.exitCode = await upload(paths, flags, createTerminal(flags));
    });
  return command;
}

async function upload(paths: readonly string[], flags: UploadFlags, terminal: Terminal): Promise<number> {
  const fields = outputFields(flags);
  const { images, skipped } = await findImages(paths);
  if (images.length === 0) throw new UsageError(`No images found in ${paths.join(', ')}${skipped.length ? ` (${skipped.length} files skipped: not images)` : ''}`);
  const client = createApiClient(accessOf(flags));
  const limits = await client.limits();
  const { requests, refused } = planRequests(images, limits);
  const wait = flags.wait || flags.out !== undefined;
  const records = new Map<string, FileRecord>(images.map((image) => [image.path, { path: image.path, image, batchId: null, jobId: null, state: 'queued', failedReason: null, outputs: [] }]));
  for (const r of refused) Object.assign(records.get(r.path) ?? {}, { state: 'failed', failedReason: r.reason });

  const sending = requests.flat();
  terminal.info(`${sending.length} images, ${megabytes(sending.reduce((n, i) => n + i.size, 0))} MB, in ${requests.length} request(s) of at most ${limits.maxFiles} to ${client.server.origin}`);
  const progress = terminal.progress({ files: sending.length, bytes: sending.reduce((n, i) => n + i.size, 0) });
  const limit = createLimiter(flags.concurrency);
  const nameOutput = flags.out === undefined ? undefined : createOutputNamer(flags.out);
  const batches: BatchStatus[] = [];
  const accepted: string[] = [];

  const finish = async (batchId: string, files: readonly FoundImage[], jobIds: readonly string[]) => {
    const byJob = new Map(jobIds.map((jobId, i) => [jobId, records.get(files[i]?.path ?? '')]));
    const batch = await followBatch(client, batchId, (file) => {
      const record = byJob.get(file.jobId);
      if (!record) return;
      progress.fileDone(file.state === 'completed' ? `done ${record.path}` : `failed ${record.path}: ${file.failedReason ?? 'no reason given'}`);
    });
    batches.push(batch);
    await Promise.all(batch.files.map((file) => settle(file, byJob.get(file.jobId))));
  };
  const settle = async (file: FileStatus, record: FileRecord | undefined) => {
    if (!record) return;
    if (file.state !== 'completed') return Object.assign(record, { state: 'failed', failedReason: file.failedReason ?? `ended ${file.state}` });
    record.state = 'completed';
    if (!nameOutput) return;
    try {
      record.outputs = await limit(() => downloadResults(client, file, record.image?.relativePath ?? record.path, nameOutput));
    } catch (err) {
      Object.assign(record, { state: 'failed', failedReason: `download failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  };

  const following: Promise<void>[] = [];
  const send = async (files: readonly FoundImage[]): Promise<void> => {
    try {
      const batch = await limit(() => client.uploadImages(files, fields, (n) => progress.sent(n)));
      accepted.push(batch.batchId);
      const jobIds = batch.jobs.map((j) => j.jobId);
      files.forEach((image, i) => Object.assign(records.get(image.path) ?? {}, { batchId: batch.batchId, jobId: jobIds[i] ?? null }));
      if (wait) following.push(finish(batch.batchId, files, jobIds));
      else files.forEach((image) => progress.fileDone(`queued ${image.path}`));
    } catch (err) {
      if (!(err instanceof ApiProblemError) || !PER_FILE_CODES.includes(err.code)) throw err;
      if (files.length > 1) return void (await Promise.all(files.map((file) => send([file]))));
      const [file] = files;
      if (file) Object.assign(records.get(file.path) ?? {}, { state: 'failed', failedReason: `${err.code}: ${err.detail}` });
      progress.fileDone(`failed ${file?.path ?? ''}: ${err.code}: ${err.detail}`);
    }
  };
  try {
    await Promise.all(requests.map((files) => send(files)));
    await Promise.all(following);
  } finally {
    progress.stop();
  }

  const files = [...records.values()];
  report(terminal, flags, { files, skipped, accepted, batches });
  return files.some((f) => f.state === 'failed') ? EXIT.someFailed : EXIT.ok;
}

function report(terminal: Terminal, flags: UploadFlags, run: { files: FileRecord[]; skipped: SkippedFile[]; accepted: string[]; batches: BatchStatus[] }): void {
  const count = (state: FileRecord['state']) => run.files.filter((f) => f.state === state).length;
  const counts = { images: run.files.length, completed: count('completed'), failed: count('failed'), queued: count('queued'), skipped: run.skipped.length };
  for (const f of run.files) if (f.state === 'failed') terminal.warn(`failed: ${f.path}: ${f.failedReason ?? 'no reason given'}`);
  for (const s of run.skipped) terminal.info(`skipped: ${s.path}: ${s.reason}`);
  terminal.info(`${counts.completed} done, ${counts.failed} failed, ${counts.queued} queued, ${counts.skipped} skipped; batches: ${run.accepted.join(', ') || 'none'}`);
  if (flags.json) {
    terminal.json({
      server: flags.server.origin,
      batches: run.accepted.map((batchId) => ({ batchId, status: run.batches.find((b) => b.batchId === batchId)?.status ?? 'queued' })),
      files: run.files.map(({ path, batchId, jobId, state, failedReason, outputs }) => ({ path, batchId, jobId, state, failedReason, outputs })),
      skipped: run.skipped,
      counts,
    });
  }
}

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
