import { QueueEvents } from 'bullmq';
import type { RedisClient } from '../queue/redis-target';
import type { Logger } from 'pino';
import { BATCH_FINISHED_EVENT, BatchFinishedEvent, type ImageQueueEvents } from '../queue/events';
import { IMAGE_QUEUE } from '../queue/jobs';

/**
 * Logs the image queue's events: completed and failed jobs, and finished batches (an event the
 * worker adds to the same stream). For logs only: live streams read through the event fan-out,
 * which runs only while a stream is open, and webhooks leave through the outbox.
 */
export function watchQueueEvents(connection: RedisClient, prefix: string, logger: Logger): QueueEvents {
  const events = new QueueEvents(IMAGE_QUEUE, { connection, prefix });
  events.on('completed', ({ jobId }) => logger.info({ jobId }, 'job completed'));
  events.on('failed', ({ jobId, failedReason }) => logger.warn({ jobId, failedReason }, 'job failed'));
  events.on<ImageQueueEvents, typeof BATCH_FINISHED_EVENT>(BATCH_FINISHED_EVENT, (fields, id) => {
    const parsed = BatchFinishedEvent.safeParse(fields);
    if (parsed.success) logger.info(parsed.data, 'batch finished');
    else logger.warn({ eventId: id, issues: parsed.error.issues }, 'malformed batch-finished event ignored');
  });
  events.on('error', (err) => logger.warn({ err: err.message }, 'queue events error'));
  return events;
}
