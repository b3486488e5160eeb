import type { Job } from 'bullmq';
import type { BatchStore, FileOutcome, StoredBatchSummary } from './batch-store';
import { summarizeBatch, type BatchProgress, type BatchStatus, type FileState } from './batch-summary';
import type { ImageJobData, ImageJobName, ImageJobResult, ImageQueue } from './jobs';

export interface FileStatus {
  jobId: string;
  originalName: string;
  state: FileState;
  progress: number;
  result: ImageJobResult | null;
  failedReason: string | null;
  attemptsMade: number;
  /** For a file from a CSV of URLs: its row's line and other columns. */
  line?: number;
  row?: [string, string][];
}

export interface JobStatus extends FileStatus {
  batchId: string;
}

export interface BatchStatusView {
  batchId: string;
  status: BatchStatus;
  progress: BatchProgress;
  createdAt: string;
  /** When its jobs are due, for a scheduled batch. */
  processAt?: string;
  files: FileStatus[];
}

/** A batch as a list shows it: its status without the files. */
export type BatchSummary = Omit<BatchStatusView, 'files'>;

type ImageJob = Job<ImageJobData, ImageJobResult, ImageJobName>;

function toFileState(state: string): FileState {
  switch (state) {
    case 'completed':
    case 'failed':
    case 'active':
    case 'delayed':
    case 'waiting':
      return state;
    case 'prioritized':
    case 'waiting-children':
      return 'waiting';
    default:
      return 'unknown';
  }
}

/**
 * A job's status from the queue. The state is read before the job: states only move forward,
 * so the job read second is at least as new. Read the other way round, a job finishing in
 * between showed as completed with the result it did not have yet.
 */
async function readJob(queue: ImageQueue, jobId: string): Promise<{ job: ImageJob; file: FileStatus } | undefined> {
  const state = toFileState(await queue.getJobState(jobId));
  const job = await queue.getJob(jobId);
  return job && { job, file: fileStatusOf(jobId, job, state) };
}

function fileStatusOf(jobId: string, job: ImageJob, state: FileState): FileStatus {
  return {
    jobId,
    originalName: job.data.originalName,
    state,
    progress: state === 'completed' ? 100 : typeof job.progress === 'number' ? job.progress : 0,
    result: state === 'completed' ? (job.returnvalue ?? null) : null,
    // BullMQ keeps the last attempt's reason even after a later attempt succeeded.
    failedReason: state === 'completed' ? null : job.failedReason || null,
    attemptsMade: job.attemptsMade,
  };
}

/** A file's status from its recorded outcome, as GET /batches/:id serves it. */
export function fileStatusOfOutcome(jobId: string, originalName: string, outcome: FileOutcome): FileStatus {
  const common = { jobId, originalName, attemptsMade: outcome.attemptsMade };
  return outcome.state === 'completed'
    ? { ...common, state: 'completed', progress: 100, result: outcome.result, failedReason: null }
    : { ...common, state: 'failed', progress: 0, result: null, failedReason: outcome.failedReason };
}

export async function readJobStatus(queue: ImageQueue, jobId: string): Promise<JobStatus | undefined> {
  const found = await readJob(queue, jobId);
  return found && { ...found.file, batchId: found.job.data.batchId };
}

/**
 * A batch's status from its stored record; only files still in flight are looked up in the
 * queue, so the cost is bounded by the batch's size, never by the queue's history. With
 * `ownedBy`, another owner's batch is undefined, as a missing one, and no job of it is read.
 */
export async function readBatchStatus(queue: ImageQueue, batches: BatchStore, batchId: string, options: { readonly ownedBy?: string | undefined; readonly now?: number } = {}): Promise<BatchStatusView | undefined> {
  const { ownedBy, now = Date.now() } = options;
  const batch = await batches.get(batchId);
  if (!batch || (ownedBy !== undefined && batch.owner !== ownedBy)) return undefined;
  const files = await Promise.all(
    batch.files.map(async ({ jobId, originalName, line, row }): Promise<FileStatus> => {
      const input = { ...(line === undefined ? {} : { line }), ...(row === undefined ? {} : { row }) };
      const outcome = batch.outcomes.get(jobId);
      if (outcome) return { ...fileStatusOfOutcome(jobId, originalName, outcome), ...input };
      const found = await readJob(queue, jobId);
      if (found) return { ...found.file, ...input };
      return { jobId, originalName, state: 'unknown', progress: 0, result: null, failedReason: null, attemptsMade: 0, ...input };
    }),
  );
  const { processAt } = batch;
  const scheduled = processAt !== undefined && Date.parse(processAt) > now && files.every((f) => f.attemptsMade === 0);
  return { batchId, ...summarizeBatch(files.map((f) => f.state), { scheduled }), createdAt: batch.createdAt, ...(processAt ? { processAt } : {}), files };
}

/**
 * The summaries of several batches, in their order (undefined where a record is gone), in two
 * round trips however many there are: one script reads every record's counters, then the state
 * of each file still without an outcome is asked for at once. Finished files cost nothing. Unlike
 * readBatchStatus it reads no job itself, so a scheduled batch whose delayed file already failed
 * an attempt (promoted by hand before its time) shows as scheduled here, as processing there.
 */
export async function readBatchSummaries(queue: ImageQueue, batches: BatchStore, batchIds: readonly string[], now = Date.now()): Promise<(BatchSummary | undefined)[]> {
  const stored = await batches.summaries(batchIds);
  const states = await Promise.all(stored.map((batch) => Promise.all((batch?.unfinished ?? []).map(async (jobId) => toFileState(await queue.getJobState(jobId))))));
  return stored.map((batch, i) => batch && summaryOf(batch, states[i] ?? [], now));
}

function summaryOf(batch: StoredBatchSummary, unfinished: readonly FileState[], now: number): BatchSummary {
  const { batchId, createdAt, processAt, completed, failed } = batch;
  const states: FileState[] = [...Array<FileState>(completed).fill('completed'), ...Array<FileState>(failed).fill('failed'), ...unfinished];
  const scheduled = processAt !== undefined && Date.parse(processAt) > now;
  return { batchId, ...summarizeBatch(states, { scheduled }), createdAt, ...(processAt ? { processAt } : {}) };
}
