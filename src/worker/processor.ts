import { UnrecoverableError, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { JobMetrics } from '../metrics/worker-metrics';
import { declaredSizeOf, InvalidImageError } from '../pipeline';
import type { BatchStore } from '../queue/batch-store';
import { ImageJobData, type ImageJobName, type ImageJobResult } from '../queue/jobs';
import { isErrno } from '../errno';
import { FetchFailedError, fetchImage, type FetchDeps } from './fetch-source';
import { processImageBytes, processStoredImage, type ImageFiles } from './process-stored-image';
import type { Semaphore } from './semaphore';

export interface ProcessorDeps {
  readonly files: ImageFiles;
  readonly batches: BatchStore;
  readonly logger: Logger;
  /**
   * The worker's own decompression-bomb limit. A job's spec may lower it but never raise it:
   * job data comes from Redis, and the memory at stake is this process's.
   */
  readonly maxInputPixels: number;
  /** The worker's own per-output limit, the same way (MAX_OUTPUT_PIXELS). */
  readonly maxOutputPixels?: number;
  /**
   * Bounds the Sharp work of this process to WORKER_CONCURRENCY while the worker takes more jobs
   * than that (FETCH_CONCURRENCY more), so a URL job downloads without holding one; without it
   * (tests of uploads alone) BullMQ's concurrency is the only bound, as before.
   */
  readonly transforms?: Semaphore;
  /** How URL jobs are downloaded; without it a URL job fails (a worker built for uploads only). */
  readonly fetch?: FetchDeps;
  readonly metrics: Pick<JobMetrics, 'jobProcessed'>;
}

const unbounded: Semaphore = { run: (fn) => fn() };

const lowest = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

export type ImageProcessor = Processor<ImageJobData, ImageJobResult, ImageJobName>;

/**
 * job → processStoredImage. An image that can never be processed becomes UnrecoverableError, so
 * BullMQ skips the remaining attempts; anything else is thrown as is and retried with backoff.
 */
export function createProcessor(deps: ProcessorDeps): ImageProcessor {
  return async (job) => {
    const parsed = ImageJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`INVALID_JOB_DATA: ${parsed.error.message}`);
    const data = parsed.data;
    // BullMQ types a job's id as optional, but a job handed to a processor always has one.
    const jobId = job.id;
    if (jobId === undefined) throw new UnrecoverableError('INVALID_JOB_DATA: the job has no id');
    const started = performance.now();
    let megapixels: number | undefined;
    const measure = (input: Buffer) => {
      const size = declaredSizeOf(input);
      megapixels = size && (size.width * size.height) / 1e6;
    };
    let transformSeconds = 0;
    // Timed inside the Sharp slot: waiting for one, or for a download, is not processing time.
    const timed = (work: () => Promise<ImageJobResult>) =>
      (deps.transforms ?? unbounded).run(async () => {
        const from = performance.now();
        const done = await work();
        transformSeconds = (performance.now() - from) / 1000;
        return done;
      });

    let result: ImageJobResult;
    try {
      const spec = { ...data.spec, maxInputPixels: Math.min(data.spec.maxInputPixels, deps.maxInputPixels), maxOutputPixels: lowest(data.spec.maxOutputPixels, deps.maxOutputPixels) };
      // Not awaited: the progress write travels to Redis while Sharp works.
      const progress = (percent: number) => void job.updateProgress(percent).catch(() => undefined);
      if (data.source === 'url') {
        if (!deps.fetch) throw new UnrecoverableError('URL_REFUSED: this worker does not download URLs');
        const { data: input } = await fetchImage(deps.fetch, data.url);
        progress(10);
        measure(input);
        result = await timed(() => processImageBytes(deps.files.outputs, { jobId, spec }, input));
      } else {
        const { inputFile } = data;
        result = await timed(() => processStoredImage(deps.files, { jobId, inputFile, spec }, progress, measure));
      }
    } catch (err) {
      if (err instanceof UnrecoverableError) throw err;
      if (err instanceof InvalidImageError) throw new UnrecoverableError(`${err.code}: ${err.message}`);
      if (err instanceof FetchFailedError) throw err.permanent ? new UnrecoverableError(`${err.code}: ${err.message}`) : new Error(`${err.code}: ${err.message}`, { cause: err });
      // Retried with backoff. The reason is shown to clients: an errno code, never a server
      // path; the original travels as the cause, which the worker logs.
      const code = isErrno(err) ? err.code : undefined;
      throw new Error(code ? `OUTPUT_WRITE_FAILED: ${code}` : 'PROCESSING_FAILED: a transient error; see the worker log', { cause: err });
    }

    // Recorded before the job is acknowledged: if the worker dies right after, the job runs
    // again and overwrites this same outcome, so the batch never misses a finished file.
    await deps.batches.recordOutcome(data.batchId, jobId, { state: 'completed', result, attemptsMade: job.attemptsMade + 1 });
    deps.metrics.jobProcessed({ preset: result.variants[0]?.name ?? 'default', format: result.format, seconds: transformSeconds, megapixels });
    deps.logger.debug({ jobId: job.id, batchId: data.batchId, ms: Math.round(performance.now() - started), size: result.size }, 'image processed');
    return result;
  };
}
