import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import { IMAGE_TYPES, OUTPUT_FORMATS } from '../pipeline';
import { PipelineSpecSchema, VARIANT_NAME } from './output-settings';

export const IMAGE_QUEUE = 'images';
export const DEAD_LETTER_QUEUE = 'images-dead-letter';
export const IMAGE_JOB = 'process-image';
export type ImageJobName = typeof IMAGE_JOB;

/** The longest URL a job may fetch (and the longest `originalName` of a URL job, which is its URL). */
export const MAX_URL_LENGTH = 2048;

/** What the API puts on the queue for one uploaded file. No paths: each process resolves names against its own directories. */
export const UploadJobData = z.object({
  batchId: z.uuid(),
  /** Absent in jobs queued before URL jobs existed: those are all uploads. */
  source: z.literal('upload').optional(),
  /** Generated file name inside the upload directory. */
  inputFile: z.string().regex(/^[\w-]+$/),
  originalName: z.string().max(255),
  type: z.enum(IMAGE_TYPES),
  size: z.number().int().nonnegative(),
  spec: PipelineSpecSchema,
});

/**
 * A file to download, then process (POST /process-urls). It has no input file: the worker
 * fetches the body into memory and transforms it from there, so the upload store, its retention
 * and the orphan sweep never see it. Type and size are known only once it is fetched.
 */
export const UrlJobData = z.object({
  batchId: z.uuid(),
  source: z.literal('url'),
  url: z.string().max(MAX_URL_LENGTH),
  originalName: z.string().max(MAX_URL_LENGTH),
  inputFile: z.undefined().optional(),
  spec: PipelineSpecSchema,
});

/** One job's input: a stored upload, or a URL. */
export const ImageJobData = z.union([UploadJobData, UrlJobData]);
export type ImageJobData = z.infer<typeof ImageJobData>;

const OutputFields = {
  /** File name of the output inside the processed directory. */
  outputPath: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive().meta({ description: 'Of one frame, for an animated output' }),
  format: z.enum(OUTPUT_FORMATS),
  size: z.number().int().nonnegative().meta({ description: 'Output size in bytes' }),
};

export const VariantResult = z
  .object({
    name: z.string().regex(VARIANT_NAME).meta({ description: 'The preset it was made with, or `custom` for `options`; `?variant=` of the result route' }),
    ...OutputFields,
    quality: z.number().int().min(1).max(100).nullable().meta({ description: 'Encoder quality used (the one found, for "auto"); null for PNG and GIF' }),
    score: z.number().optional().meta({ description: 'Perceptual score against the resized image, for quality "auto" (1: identical)' }),
  })
  .meta({ id: 'VariantResult' });
export type VariantResult = z.infer<typeof VariantResult>;

/** The first variant's fields (what a result was before variants), then every variant. */
export const ImageJobResult = z.object({ ...OutputFields, variants: z.array(VariantResult).min(1) });
export type ImageJobResult = z.infer<typeof ImageJobResult>;

export type ImageQueue = Queue<ImageJobData, ImageJobResult, ImageJobName>;

export interface JobPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly retentionSeconds: number;
  readonly retentionMaxJobs: number;
}

/**
 * BullMQ takes jobs without a priority before every prioritised one, and a `lifo` job jumps the
 * line but a delayed or retried one rejoins it at the back; so every job gets a priority (lower
 * runs first, FIFO within one), `normal` included. Measured cost: `bench/priority-cost.ts`.
 */
export const JOB_PRIORITIES = { high: 1, normal: 2, low: 3 } as const;
export type JobPriority = keyof typeof JOB_PRIORITIES;

/** When and in which order a job is taken: nothing asked is `normal`, now. */
export interface JobPlacement {
  readonly priority?: JobPriority | undefined;
  readonly delayMs?: number | undefined;
}

/** The options every image job is added with: by an upload and by a dead-letter retry alike. */
export function jobOptions(policy: JobPolicy, jobId: string, placement: JobPlacement = {}): JobsOptions {
  return {
    jobId,
    priority: JOB_PRIORITIES[placement.priority ?? 'normal'],
    ...(placement.delayMs ? { delay: placement.delayMs } : {}),
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    // Finished jobs leave Redis on their own; a batch keeps its outcomes in its own record.
    removeOnComplete: { age: policy.retentionSeconds, count: policy.retentionMaxJobs },
    removeOnFail: { age: policy.retentionSeconds, count: policy.retentionMaxJobs },
  };
}
