import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PipelineSpec } from '../pipeline';
import type { BatchStore } from '../queue/batch-store';
import type { DeadLetterQueue } from '../queue/dead-letter';
import type { ImageQueue, JobPolicy } from '../queue/jobs';
import type { AdminAccess } from './admin-auth';
import type { InFlight } from './in-flight';
import type { UploadLimits } from './multipart';

/** Everything the HTTP layer needs, built by main.ts (or by a test) and handed to createApp. */
export interface AppDeps {
  readonly logger: Logger;
  /** The producer connection: fails fast while Redis is down. */
  readonly redis: Redis;
  readonly queue: ImageQueue;
  readonly deadLetters: DeadLetterQueue;
  readonly batches: BatchStore;
  readonly policy: JobPolicy;
  readonly spec: PipelineSpec;
  readonly uploads: UploadLimits;
  readonly processedDir: string;
  readonly corsOrigin?: string | undefined;
  /** Who may use the dead-letter routes; built by adminAccess(ADMIN_TOKEN). Required, so a forgotten one cannot open them. */
  readonly adminAccess: AdminAccess;
  /** Uploads being received or enqueued; shutdown waits for them. */
  readonly inFlight: InFlight;
}
