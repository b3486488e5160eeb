import type { Readable } from 'node:stream';
import { isErrno } from '../errno';
import { checkOutboundUrl, OutboundRefusedError } from '../net';
import { listDeliveries, replayDelivery, type Delivery } from '../notify/deliveries';
import type { OutputFormat, Size } from '../pipeline';
import { listDeadLetters, retryDeadLetter, type DeadLetter } from '../queue/dead-letter';
import type { EventFanOut } from '../queue/event-fan-out';
import { enqueueBatch, enqueueEntries, type EnqueuedBatch, type UploadedImage } from '../queue/enqueue-batch';
import { readBatchStatus, readJobStatus, type BatchStatusView, type JobStatus } from '../queue/job-status';
import type { JobPolicy } from '../queue/jobs';
import { QuotaExceededError, type QueuedFilesQuota } from '../queue/batch-store';
import type { BatchCallback, CallbackEvents, DeliveryStatus } from '../queue/webhook-jobs';
import { DEFAULT_VARIANT } from '../storage/output-name';
import { AppError } from './errors';
import type { Ports } from './ports';
import { assertOutputSizes, resolveOutputs, resolvedPresets, type OutputPolicy, type OutputRequest } from './presets';
import { resolveSchedule, type ScheduleRequest } from './schedule';
import { watchBatch, type BatchWatch } from './watch-batch';
import { listBatches, type BatchListPage, type BatchListRequest } from './list-batches';
import { checkUrlEntries, urlBatchEntries } from './url-batch';
import type { UrlEntry } from './url-list';

/** A finished job's output, ready to be sent. */
export interface ResultFile {
  readonly jobId: string;
  readonly variant: string;
  readonly format: OutputFormat;
  /** Its name in the outputs store. */
  readonly name: string;
  /** The client's file name, sanitised: for a download name. */
  readonly originalName: string;
}

/** Where a result's bytes come from: a signed URL to send the client to, a file on this disk, or a stream. */
export type ResultSource = { readonly redirect: string } | { readonly path: string } | { readonly stream: Readable };

/** An uploaded image, with the size its header declares when that could be read (for the output-size limit). */
export interface IncomingImage extends UploadedImage {
  readonly declaredSize?: Size | undefined;
}

/** An upload's request: its outputs, and where to send its webhooks. */
export interface BatchRequest extends OutputRequest {
  readonly callbackUrl?: string | undefined;
  /** Default `batch`: only the batch's end. */
  readonly callbackEvents?: CallbackEvents | undefined;
}

/**
 * Who asks: the id of the API key a request authenticated with, or undefined when the server has
 * no keys. A batch records the key that made it; any other key is told it does not exist (not
 * that it is someone else's, which would confirm the id). Undefined checks nothing, as before keys.
 */
export type Owner = string | undefined;

/** Who submits a batch: its owner, and the client's address, which holds the queued-files quota on a server without keys. */
export interface Submitter {
  readonly owner: Owner;
  readonly address: string;
}

/** The use cases; the HTTP routes are adapters over it (the CLI and the page use those routes). */
export interface Imgflow {
  /**
   * Records a batch and queues one job per image, all or nothing. `request` picks the outputs
   * (presets, variants, options; nothing: the `default` preset), `schedule` when and in which order
   * (nothing: now, normal priority); a bad one is refused before anything is queued.
   * `callbackUrl` gets signed webhooks; one the guard refuses already (scheme, credentials, a literal private address) is refused here.
   */
  submitBatch(submitter: Submitter, images: readonly IncomingImage[], request?: BatchRequest, schedule?: ScheduleRequest): Promise<EnqueuedBatch>;
  /**
   * The same for images the workers download: every URL is checked first (INVALID_URLS lists each
   * bad one; nothing is queued unless all pass), then one job per URL. Outputs and schedule as above.
   */
  submitUrlBatch(submitter: Submitter, entries: readonly UrlEntry[], request?: BatchRequest, schedule?: ScheduleRequest): Promise<EnqueuedBatch>;
  /**
   * Refuses (QuotaExceededError) a submission of `files` that would take its submitter over
   * MAX_QUEUED_FILES_PER_KEY, from the count alone, so a client can be refused before it sends
   * them. Only a hint: the batch's own write checks and counts again, atomically.
   */
  checkQueuedFiles(submitter: Submitter, files: number): Promise<void>;
  /** Every preset with its resolved settings. */
  listPresets(): ReturnType<typeof resolvedPresets>;
  /** BATCH_NOT_FOUND when it is not there, or is another owner's. */
  getBatch(owner: Owner, batchId: string): Promise<BatchStatusView>;
  /** The owner's batches, newest first, a page at a time (see list-batches.ts). */
  listBatches(owner: Owner, request: BatchListRequest): Promise<BatchListPage>;
  /**
   * A batch's events as they happen, ending after the final `batch` (see watch-batch.ts); from
   * `after`, a previous event's id, it resumes. BATCH_NOT_FOUND before any event.
   */
  watchBatch(owner: Owner, batchId: string, options?: { after?: string | undefined }): Promise<BatchWatch>;
  /** JOB_NOT_FOUND when it is not there, or its batch is another owner's. */
  getJob(owner: Owner, jobId: string): Promise<JobStatus>;
  /** Where a completed job's output is (the first variant unless named); RESULT_NOT_READY until then. */
  findResult(owner: Owner, jobId: string, variant?: string): Promise<ResultFile>;
  /**
   * How to send a result: a signed URL where the store makes them (unless `proxy`), else its
   * local path or a stream of it; the headers are the ones a signed URL must answer with. RESULT_EXPIRED once retention removed it.
   */
  resultSource(result: ResultFile, options: { readonly proxy: boolean; readonly contentType: string; readonly contentDisposition: string }): Promise<ResultSource>;
  listDeadLetters(offset: number, limit: number): Promise<{ total: number; items: DeadLetter[] }>;
  /** Puts a dead letter back on the queue under its original job id. */
  retryDeadLetter(id: string): Promise<void>;
  /** Webhook deliveries, newest first, with their last attempt and next one. */
  listWebhookDeliveries(filter: { batchId?: string | undefined; status?: DeliveryStatus | undefined; offset: number; limit: number }): Promise<{ total: number; items: Delivery[] }>;
  /** Sends a delivery again under its webhook-id. */
  replayWebhookDelivery(id: string): Promise<void>;
  /** Whether the queue answers now. */
  isReady(): Promise<boolean>;
  /** Whether the uploads and outputs store answers now (the bucket: HeadBucket). */
  isStorageReady(): Promise<boolean>;
}

export interface ImgflowOptions {
  readonly policy: JobPolicy;
  readonly outputs: OutputPolicy;
  /** Callbacks are refused without a secret (WEBHOOK_SECRET); ALLOW_PRIVATE_URLS lifts the address check. */
  readonly webhooks: { readonly enabled: boolean; readonly allowPrivateUrls: boolean };
  /** URLs per request (MAX_URLS); which addresses they may name is ALLOW_PRIVATE_URLS, as for webhooks. */
  readonly urls: { readonly maxUrls: number };
  /** MAX_QUEUED_FILES_PER_KEY: files waiting or being processed per key (or client address); 0, unlimited. */
  readonly maxQueuedFiles: number;
}

function callbackOf(request: BatchRequest, webhooks: ImgflowOptions['webhooks']): BatchCallback | undefined {
  if (request.callbackUrl === undefined) {
    if (request.callbackEvents !== undefined) throw new AppError('INVALID_OPTIONS', 'callbackEvents: needs a callbackUrl to send them to');
    return undefined;
  }
  if (!webhooks.enabled) throw new AppError('WEBHOOKS_NOT_CONFIGURED', 'This server sends no webhooks (no WEBHOOK_SECRET is set); upload without callbackUrl, or ask its operator to set one');
  try {
    return { url: checkOutboundUrl(request.callbackUrl, { allowPrivate: webhooks.allowPrivateUrls }).href, events: request.callbackEvents ?? 'batch' };
  } catch (err) {
    if (err instanceof OutboundRefusedError) throw new AppError('CALLBACK_URL_REFUSED', `callbackUrl: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Who a limit counts against: the API key, or the address of a keyless client. The rate limit and the queued-files quota share it. */
export const clientKeyOf = (submitter: Submitter) => (submitter.owner === undefined ? `address:${submitter.address}` : `key:${submitter.owner}`);

/** Whose count a submission adds to, or none when there is no limit (a count nobody reads would only drift). */
function quotaOf(submitter: Submitter, maxQueuedFiles: number): QueuedFilesQuota | undefined {
  if (maxQueuedFiles === 0) return undefined;
  return { holder: clientKeyOf(submitter), max: maxQueuedFiles };
}

/** `events`: the process's one reader of the image queue's event stream, which every watch shares. */
export function createImgflow(ports: Ports, options: ImgflowOptions, events: EventFanOut): Imgflow {
  const { queue, batches, batchIndex, deadLetters, redis, files, webhooks } = ports;

  const getJob = async (owner: Owner, jobId: string): Promise<JobStatus> => {
    const job = await readJobStatus(queue, jobId);
    // A job outliving its batch's record has no owner left to prove: with keys, it is nobody's.
    const visible = job && (owner === undefined || (await batches.ownerOf(job.batchId))?.owner === owner);
    if (!job || !visible) throw new AppError('JOB_NOT_FOUND', `No job ${jobId}; finished jobs are kept for a limited time`);
    return job;
  };

  const getBatch = async (owner: Owner, batchId: string): Promise<BatchStatusView> => {
    // The owner is checked on the record itself, before any of the batch's jobs is read.
    const batch = await readBatchStatus(queue, batches, batchId, { ownedBy: owner });
    if (!batch) throw new AppError('BATCH_NOT_FOUND', `No batch ${batchId}; batches are kept for a limited time`);
    return batch;
  };

  return {
    async submitBatch(submitter, images, request = {}, schedule = {}) {
      const callback = callbackOf(request, options.webhooks);
      const spec = resolveOutputs(options.outputs, request);
      assertOutputSizes(spec, images);
      const placement = resolveSchedule(schedule, Date.now());
      // Upload retention counts a file's age from its mtime: from when it is due, for a scheduled one.
      const { processAt } = placement;
      if (processAt) await Promise.all(images.map((image) => files.uploads.keepFrom(image.storedName, Date.parse(processAt))));
      return enqueueBatch({ queue, redis, batches, policy: options.policy }, images, spec, { ...placement, callback, owner: submitter.owner, quota: quotaOf(submitter, options.maxQueuedFiles) });
    },

    async submitUrlBatch(submitter, entries, request = {}, schedule = {}) {
      const urls = checkUrlEntries(entries, { maxUrls: options.urls.maxUrls, allowPrivate: options.webhooks.allowPrivateUrls });
      const callback = callbackOf(request, options.webhooks);
      // No declared sizes to check outputs against before the download: the worker checks the decoded image.
      const spec = resolveOutputs(options.outputs, request);
      const placement = resolveSchedule(schedule, Date.now());
      return enqueueEntries({ queue, redis, batches, policy: options.policy }, urlBatchEntries(entries, urls), spec, { ...placement, callback, owner: submitter.owner, quota: quotaOf(submitter, options.maxQueuedFiles) });
    },

    async checkQueuedFiles(submitter, count) {
      const quota = quotaOf(submitter, options.maxQueuedFiles);
      if (!quota) return;
      const queued = await batches.queuedFiles(quota.holder);
      if (queued + count > quota.max) throw new QuotaExceededError(quota.max, queued, count);
    },

    listPresets: () => resolvedPresets(options.outputs.presets),

    getBatch,

    listBatches: (owner, request) => listBatches({ index: batchIndex, queue, batches }, owner, request),

    watchBatch: (owner, batchId, watch) => watchBatch({ fanOut: events, log: events.log, getBatch: (id) => getBatch(owner, id) }, batchId, watch),

    getJob,

    async findResult(owner, jobId, variant) {
      const job = await getJob(owner, jobId);
      if (job.state !== 'completed' || !job.result) {
        throw new AppError('RESULT_NOT_READY', `Job ${jobId} is ${job.state}; the result exists once it is completed`);
      }
      // Results from before variants have none: their one output is the default variant.
      const variants = job.result.variants ?? [{ ...job.result, name: DEFAULT_VARIANT }];
      const output = variant === undefined ? variants[0] : variants.find((v) => v.name === variant);
      if (!output) {
        throw new AppError('VARIANT_NOT_FOUND', `Job ${jobId} has no variant '${variant}'; it has ${variants.map((v) => v.name).join(', ')}`);
      }
      return { jobId, variant: output.name, format: output.format, name: output.outputPath, originalName: job.originalName };
    },

    async resultSource(result, { proxy, contentType, contentDisposition }) {
      const { outputs } = files;
      const expired = (cause?: unknown) => new AppError('RESULT_EXPIRED', `The output of job ${result.jobId} has been removed by retention`, { cause });
      if (outputs.pathOf) return { path: outputs.pathOf(result.name) };
      if (outputs.signGet && !proxy) {
        if (!(await outputs.stat(result.name))) throw expired();
        return { redirect: await outputs.signGet(result.name, { contentType, contentDisposition }) };
      }
      try {
        return { stream: await outputs.open(result.name) };
      } catch (err) {
        if (isErrno(err, 'ENOENT')) throw expired(err);
        throw err;
      }
    },

    listDeadLetters: (offset, limit) => listDeadLetters(deadLetters, offset, limit),

    async retryDeadLetter(id) {
      if (!(await retryDeadLetter({ deadLetters, queue, batches, policy: options.policy }, id))) {
        throw new AppError('DEAD_LETTER_NOT_FOUND', `No dead letter ${id}`);
      }
    },

    listWebhookDeliveries: (filter) => listDeliveries(webhooks, filter),

    async replayWebhookDelivery(id) {
      if (!(await replayDelivery(webhooks, id))) throw new AppError('DELIVERY_NOT_FOUND', `No webhook delivery ${id}; deliveries are kept for a limited time`);
    },

    isReady: async () => redis.status === 'ready' && (await redis.ping().then(() => true, () => false)),

    isStorageReady: () => files.probe().then(() => true, () => false),
  };
}
