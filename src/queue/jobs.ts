import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import { IMAGE_TYPES, OUTPUT_FORMATS, type PipelineSpec } from '../pipeline';

export const IMAGE_QUEUE = 'images';
export const DEAD_LETTER_QUEUE = 'images-dead-letter';
export const IMAGE_JOB = 'process-image';
export type ImageJobName = typeof IMAGE_JOB;

export const PipelineSpecSchema = z.object({
  width: z.number().int().positive().max(16384),
  withoutEnlargement: z.boolean(),
  grayscale: z.boolean(),
  format: z.enum(OUTPUT_FORMATS),
  quality: z.number().int().min(1).max(100),
  maxInputPixels: z.number().int().positive(),
}) satisfies z.ZodType<PipelineSpec>;

/** What the API puts on the queue for one uploaded file. No paths: each process resolves names against its own directories. */
export const ImageJobData = z.object({
  batchId: z.uuid(),
  /** Generated file name inside the upload directory. */
  inputFile: z.string().regex(/^[\w-]+$/),
  originalName: z.string().max(255),
  type: z.enum(IMAGE_TYPES),
  size: z.number().int().nonnegative(),
  spec: PipelineSpecSchema,
});
export type ImageJobData = z.infer<typeof ImageJobData>;

export const ImageJobResult = z.object({
  /** File name of the output inside the processed directory. */
  outputPath: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  format: z.enum(OUTPUT_FORMATS),
  size: z.number().int().nonnegative().meta({ description: 'Output size in bytes' }),
});
export type ImageJobResult = z.infer<typeof ImageJobResult>;

export type ImageQueue = Queue<ImageJobData, ImageJobResult, ImageJobName>;

export interface JobPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly retentionSeconds: number;
  readonly retentionMaxJobs: number;
}

/** The options every image job is added with: by an upload and by a dead-letter retry alike. */
export function jobOptions(policy: JobPolicy, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    // Finished jobs leave Redis on their own; a batch keeps its outcomes in its own record.
    removeOnComplete: { age: policy.retentionSeconds, count: policy.retentionMaxJobs },
    removeOnFail: { age: policy.retentionSeconds, count: policy.retentionMaxJobs },
  };
}
