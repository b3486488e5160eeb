import { QueueKeys, type QueueEventsListener } from 'bullmq';
import { z } from 'zod';
import { IMAGE_QUEUE, ImageJobResult } from './jobs';

/**
 * The events imgflow adds to the image queue's event stream, next to BullMQ's own: the worker
 * writes them (from the batch store's Lua script), the API's QueueEvents subscriber reads them.
 */
export const BATCH_FINISHED_EVENT = 'batch-finished';

const count = z.coerce.number().int().nonnegative();

/** Announced once, when every file of a batch has an outcome. Stream fields arrive as strings; counts are parsed back into numbers. */
export const BatchFinishedEvent = z.object({ batchId: z.uuid(), completed: count, failed: count, total: count });
export type BatchFinishedEvent = z.infer<typeof BatchFinishedEvent>;

/** What QueueEvents hands a listener of our events: the entry's fields, unchecked. */
export interface ImageQueueEvents extends QueueEventsListener {
  [BATCH_FINISHED_EVENT]: (fields: Record<string, string>, id: string) => void;
}

/** BullMQ's default trim of a queue's event stream (`streams.events.maxLen`); our events keep to it. */
export const EVENTS_MAX_LEN = 10_000;

/** The image queue's event stream key, from BullMQ's own key builder. */
export function imageEventsKey(prefix: string): string {
  return new QueueKeys(prefix).toKey(IMAGE_QUEUE, 'events');
}

/** A JSON-encoded stream field, parsed and then checked against `schema`. */
const jsonField = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `Expected JSON but received ${JSON.stringify(text.slice(0, 80))}` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const jobId = z.string().min(1);

/**
 * The entries of the image queue's event stream that live progress reads: BullMQ's own
 * `progress` (the worker's percentage), `completed` and `failed` (written only once a job fails
 * for good; a retry is `delayed`), and our `batch-finished`. Fields arrive as strings, as XREAD
 * and XRANGE return them.
 */
export const QueueEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('progress'), jobId, data: jsonField(z.number()) }),
  z.object({ event: z.literal('completed'), jobId, returnvalue: jsonField(ImageJobResult) }),
  z.object({ event: z.literal('failed'), jobId, failedReason: z.string() }),
  BatchFinishedEvent.extend({ event: z.literal(BATCH_FINISHED_EVENT) }),
]);
export type QueueEvent = z.infer<typeof QueueEvent>;

const READ_EVENTS: ReadonlySet<string> = new Set(QueueEvent.options.map((o) => o.shape.event.value));

/**
 * One stream entry's flat field list (`[name, value, …]`) as a QueueEvent; undefined for the
 * events nobody here reads (added, active, …) and for entries that do not fit their schema.
 */
export function parseQueueEvent(fields: readonly string[]): QueueEvent | undefined {
  const entry: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] as string] = fields[i + 1] as string;
  if (entry.event === undefined || !READ_EVENTS.has(entry.event)) return undefined;
  const parsed = QueueEvent.safeParse(entry);
  return parsed.success ? parsed.data : undefined;
}

/** A stream entry id (`ms-seq`), the position a reader resumes from. */
export const EVENT_ID = /^\d{1,20}-\d{1,20}$/;

/** Orders two stream entry ids as Redis does: by time, then sequence. */
export function compareEventIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}
