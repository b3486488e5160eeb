import type { BatchPlacement } from '../queue/enqueue-batch';
import type { JobPriority } from '../queue/jobs';
import { AppError } from './errors';

/** How far ahead an upload may be scheduled: its batch record and inputs must outlive the wait. */
export const MAX_SCHEDULE_MS = 30 * 24 * 3600 * 1000;
/** A `processAt` this far in the past is a client clock a little behind ours, and means now; further back is a mistake. */
export const SCHEDULE_SKEW_MS = 30_000;

/** What an upload asked for in its scheduling fields, parsed but not yet checked against the clock. */
export interface ScheduleRequest {
  readonly delayMs?: number | undefined;
  /** ISO 8601 with a zone. */
  readonly processAt?: string | undefined;
  readonly priority?: JobPriority | undefined;
}

/**
 * A request's schedule → the placement of its jobs, against `now`. Refused (INVALID_SCHEDULE):
 * both fields, a time more than MAX_SCHEDULE_MS ahead, or one more than SCHEDULE_SKEW_MS ago.
 */
export function resolveSchedule(request: ScheduleRequest, now: number): BatchPlacement {
  const { delayMs, processAt, priority } = request;
  if (delayMs !== undefined && processAt !== undefined) {
    throw new AppError('INVALID_SCHEDULE', 'Give either `delayMs` or `processAt`, not both');
  }
  let delay = delayMs ?? 0;
  if (processAt !== undefined) {
    delay = Date.parse(processAt) - now;
    if (delay < -SCHEDULE_SKEW_MS) {
      throw new AppError('INVALID_SCHEDULE', `Expected processAt no earlier than ${SCHEDULE_SKEW_MS / 1000} s ago but received ${processAt}, ${Math.round(-delay / 1000)} s in the past`);
    }
  }
  if (delay > MAX_SCHEDULE_MS) {
    const field = processAt !== undefined ? `processAt ${processAt}` : `delayMs ${delay}`;
    throw new AppError('INVALID_SCHEDULE', `Expected a schedule at most 30 days ahead but ${field} is ${(delay / 86_400_000).toFixed(1)} days ahead`);
  }
  return delay > 0 ? { priority, delayMs: delay, processAt: new Date(now + delay).toISOString() } : { priority };
}
