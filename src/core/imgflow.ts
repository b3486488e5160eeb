import type { OutputFormat, Size } from '../pipeline';
import { listDeadLetters, retryDeadLetter, type DeadLetter } from '../queue/dead-letter';
import type { EventFanOut } from '../queue/event-fan-out';
import { enqueueBatch, type EnqueuedBatch, type UploadedImage } from '../queue/enqueue-batch';
import { readBatchStatus, readJobStatus, type BatchStatusView, type JobStatus } from '../queue/job-status';
import type { JobPolicy } from '../queue/jobs';
import { DEFAULT_VARIANT } from '../storage/output-name';
import { AppError } from './errors';
import type { Ports } from './ports';
import { assertOutputSizes, resolveOutputs, resolvedPresets, type OutputPolicy, type OutputRequest } from './presets';
import { watchBatch, type BatchWatch } from './watch-batch';

/** A finished job's output, ready to be sent. */
export interface ResultFile {
  readonly jobId: string;
  readonly variant: string;
  readonly format: OutputFormat;
  readonly path: string;
  /** The client's file name, sanitised: for a download name. */
  readonly originalName: string;
}

/** An uploaded image, with the size its header declares when that could be read (for the output-size limit). */
export interface IncomingImage extends UploadedImage {
  readonly declaredSize?: Size | undefined;
}

/** The use cases every entry point offers; HTTP routes (and later the CLI, the page, webhooks) are adapters over it. */
export interface Imgflow {
  /**
   * Records a batch and queues one job per image, all or nothing. `request` picks the outputs
   * (presets, variants, options; nothing: the `default` preset); a bad one is refused before anything is queued.
   */
  submitBatch(images: readonly IncomingImage[], request?: OutputRequest): Promise<EnqueuedBatch>;
  /** Every preset with its resolved settings. */
  listPresets(): ReturnType<typeof resolvedPresets>;
  getBatch(batchId: string): Promise<BatchStatusView>;
  /**
   * A batch's events as they happen, ending after the final `batch` (see watch-batch.ts); from
   * `after`, a previous event's id, it resumes. BATCH_NOT_FOUND before any event.
   */
  watchBatch(batchId: string, options?: { after?: string | undefined }): Promise<BatchWatch>;
  getJob(jobId: string): Promise<JobStatus>;
  /** Where a completed job's output is (the first variant unless named); RESULT_NOT_READY until then. */
  findResult(jobId: string, variant?: string): Promise<ResultFile>;
  listDeadLetters(offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }>;
  /** Puts a dead letter back on the queue under its original job id. */
  retryDeadLetter(id: string): Promise<void>;
  /** Whether the queue answers now. */
  isReady(): Promise<boolean>;
}

export interface ImgflowOptions {
  readonly policy: JobPolicy;
  readonly outputs: OutputPolicy;
}

/** `events`: the process's one reader of the image queue's event stream, which every watch shares. */
export function createImgflow(ports: Ports, options: ImgflowOptions, events: EventFanOut): Imgflow {
  const { queue, batches, deadLetters, redis, files } = ports;

  const getJob = async (jobId: string): Promise<JobStatus> => {
    const job = await readJobStatus(queue, jobId);
    if (!job) throw new AppError('JOB_NOT_FOUND', `No job ${jobId}; finished jobs are kept for a limited time`);
    return job;
  };

  const getBatch = async (batchId: string): Promise<BatchStatusView> => {
    const batch = await readBatchStatus(queue, batches, batchId);
    if (!batch) throw new AppError('BATCH_NOT_FOUND', `No batch ${batchId}; batches are kept for a limited time`);
    return batch;
  };

  return {
    async submitBatch(images, request = {}) {
      const spec = resolveOutputs(options.outputs, request);
      assertOutputSizes(spec, images);
      return enqueueBatch({ queue, redis, batches, policy: options.policy }, images, spec);
    },

    listPresets: () => resolvedPresets(options.outputs.presets),

    getBatch,

    watchBatch: (batchId, watch) => watchBatch({ fanOut: events, log: events.log, getBatch }, batchId, watch),

    getJob,

    async findResult(jobId, variant) {
      const job = await getJob(jobId);
      if (job.state !== 'completed' || !job.result) {
        throw new AppError('RESULT_NOT_READY', `Job ${jobId} is ${job.state}; the result exists once it is completed`);
      }
      // Results from before variants have none: their one output is the default variant.
      const variants = job.result.variants ?? [{ ...job.result, name: DEFAULT_VARIANT }];
      const output = variant === undefined ? variants[0] : variants.find((v) => v.name === variant);
      if (!output) {
        throw new AppError('VARIANT_NOT_FOUND', `Job ${jobId} has no variant '${variant}'; it has ${variants.map((v) => v.name).join(', ')}`);
      }
      return { jobId, variant: output.name, format: output.format, path: files.outputs.pathOf(output.outputPath), originalName: job.originalName };
    },

    listDeadLetters: (offset, limit) => listDeadLetters(deadLetters, offset, limit),

    async retryDeadLetter(id) {
      if (!(await retryDeadLetter({ deadLetters, queue, batches, policy: options.policy }, id))) {
        throw new AppError('DEAD_LETTER_NOT_FOUND', `No dead letter ${id}`);
      }
    },

    isReady: async () => redis.status === 'ready' && (await redis.ping().then(() => true, () => false)),
  };
}
