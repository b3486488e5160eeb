import { z } from 'zod';

/*
 * The parts of the public API's answers the CLI reads, checked as they arrive. Written here
 * rather than imported from src/api: the CLI is a client of the HTTP contract (GET /openapi.json),
 * not of the server's code, and extra fields are left alone so a newer server still parses.
 */

export const Problem = z.object({ status: z.number(), code: z.string(), detail: z.string() });

export const Limits = z.object({
  maxFiles: z.number().int().positive(),
  maxFileSizeBytes: z.number().int().positive(),
  maxVariants: z.number().int().positive(),
  acceptedTypes: z.array(z.string()),
});
export type Limits = z.infer<typeof Limits>;

export const BatchAccepted = z.object({
  batchId: z.string(),
  totalFiles: z.number(),
  jobs: z.array(z.object({ jobId: z.string(), originalName: z.string() })),
});
export type BatchAccepted = z.infer<typeof BatchAccepted>;

const Variant = z.object({ name: z.string(), width: z.number(), height: z.number(), format: z.string(), size: z.number() });

export const FileStatus = z.object({
  jobId: z.string(),
  originalName: z.string(),
  state: z.string(),
  progress: z.number(),
  result: z.object({ variants: z.array(Variant).optional(), width: z.number(), height: z.number(), format: z.string(), size: z.number() }).nullable(),
  failedReason: z.string().nullable(),
});
export type FileStatus = z.infer<typeof FileStatus>;

/** Batch statuses after which nothing changes. */
export const FINISHED_BATCH = ['completed', 'completed-with-errors', 'failed'] as const;

export const BatchStatus = z.object({
  batchId: z.string(),
  status: z.string(),
  progress: z.object({ total: z.number(), completed: z.number(), failed: z.number(), active: z.number(), waiting: z.number() }),
  files: z.array(FileStatus),
});
export type BatchStatus = z.infer<typeof BatchStatus>;

export const FileEvent = z.object({ jobId: z.string(), state: z.string(), failedReason: z.string().optional() });

export const DeadLetterList = z.object({
  total: z.number(),
  items: z.array(z.object({ id: z.string(), batchId: z.string(), originalName: z.string(), failedReason: z.string(), attemptsMade: z.number(), failedAt: z.string() })),
});
export type DeadLetterList = z.infer<typeof DeadLetterList>;

export const RetryAccepted = z.object({ jobId: z.string() });

export const isFinished = (status: string) => (FINISHED_BATCH as readonly string[]).includes(status);
