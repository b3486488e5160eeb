import type { PipelineSpec } from '../pipeline';
import { listDeadLetters, retryDeadLetter, type DeadLetter } from '../queue/dead-letter';
import { enqueueBatch, type EnqueuedBatch, type UploadedImage } from '../queue/enqueue-batch';
import { readBatchStatus, readJobStatus, type BatchStatusView, type JobStatus } from '../queue/job-status';
import type { JobPolicy } from '../queue/jobs';
import { AppError } from './errors';
import type { Ports } from './ports';

/** A finished job's output, ready to be sent. */
export interface ResultFile {
  readonly jobId: string;
  readonly format: NonNullable<JobStatus['result']>['format'];
  readonly path: string;
}

/** The use cases every entry point offers; HTTP routes (and later the CLI, the page, webhooks) are adapters over it. */
export interface Imgflow {
  /** Records a batch and queues one job per image, all or nothing. */
  submitBatch(images: readonly UploadedImage[]): Promise<EnqueuedBatch>;
  getBatch(batchId: string): Promise<BatchStatusView>;
  getJob(jobId: string): Promise<JobStatus>;
  /** Where a completed job's output is; RESULT_NOT_READY until then. */
  findResult(jobId: string): Promise<ResultFile>;
  listDeadLetters(offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }>;
  /** Puts a dead letter back on the queue under its original job id. */
  retryDeadLetter(id: string): Promise<void>;
  /** Whether the queue answers now. */
  isReady(): Promise<boolean>;
}

export interface ImgflowOptions {
  readonly policy: JobPolicy;
  readonly spec: PipelineSpec;
}

export function createImgflow(ports: Ports, options: ImgflowOptions): Imgflow {
  const { queue, batches, deadLetters, redis, files } = ports;

  const getJob = async (jobId: string): Promise<JobStatus> => {
    const job = await readJobStatus(queue, jobId);
    if (!job) throw new AppError('JOB_NOT_FOUND', `No job ${jobId}; finished jobs are kept for a limited time`);
    return job;
  };

  return {
    submitBatch: (images) => enqueueBatch({ queue, redis, batches, policy: options.policy }, images, options.spec),

    async getBatch(batchId) {
      const batch = await readBatchStatus(queue, batches, batchId);
      if (!batch) throw new AppError('BATCH_NOT_FOUND', `No batch ${batchId}; batches are kept for a limited time`);
      return batch;
    },

    getJob,

    async findResult(jobId) {
      const job = await getJob(jobId);
      if (job.state !== 'completed' || !job.result) {
        throw new AppError('RESULT_NOT_READY', `Job ${jobId} is ${job.state}; the result exists once it is completed`);
      }
      return { jobId, format: job.result.format, path: files.outputs.pathOf(job.result.outputPath) };
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
