import { QueueKeys, type QueueEventsListener } from 'bullmq';
import { z } from 'zod';
import { IMAGE_QUEUE } from './jobs';

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
