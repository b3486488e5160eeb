import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ApiKeyEntry } from '../api-keys';
import type { Imgflow } from '../core/imgflow';
import type { ApiMetrics } from '../metrics/api-metrics';
import type { AdminAccess } from './admin-auth';
import type { DirectUploadStore } from './direct-upload-store';
import type { IdempotencyStore } from './idempotency-store';
import type { DashboardOptions } from './queue-dashboard';
import type { InFlight } from './in-flight';
import type { FileStore } from '../storage/file-store';
import type { UploadLimits } from './multipart';
import type { ResumableDeps } from './resumable-batch';

/** Everything the HTTP layer needs, built by compose.ts (or by a test) and handed to createApp. */
export interface AppDeps {
  readonly logger: Logger;
  /** The use cases; routes are adapters over it. */
  readonly imgflow: Imgflow;
  readonly uploads: UploadLimits;
  /** Where uploads are streamed to: the store the workers read them from. */
  readonly uploadStore: FileStore;
  /** POST /process-urls: URLs per request (MAX_URLS) and the CSV file's size. */
  readonly urls: { readonly maxUrls: number; readonly maxCsvBytes: number };
  /** Presets per upload (MAX_VARIANTS), published at GET /limits. */
  readonly maxVariants: number;
  readonly corsOrigin?: string | undefined;
  /** Who may use the dead-letter routes; built by adminAccess(ADMIN_TOKEN). Required, so a forgotten one cannot open them. */
  readonly adminAccess: AdminAccess;
  /** API_KEYS(_FILE): empty, every route is open and nothing has an owner. */
  readonly apiKeys: readonly ApiKeyEntry[];
  /** RATE_LIMIT_REQUESTS_PER_MIN, counted in Redis over its own connection (compose.ts); a pass-through when off. */
  readonly rateLimit: RequestHandler;
  /** Uploads being received or enqueued; shutdown waits for them. */
  readonly inFlight: InFlight;
  /** Sessions of direct uploads (POST /uploads), in Redis. */
  readonly directUploads: DirectUploadStore;
  /** Idempotency-Key claims and stored responses of the upload routes. */
  readonly idempotency: IdempotencyStore;
  /** tus uploads (/uploads/tus) and their completion into batches. */
  readonly resumable: ResumableDeps;
  /** What GET /metrics serves, and the recorders the middleware, the upload routes and the error handler feed. */
  readonly metrics: ApiMetrics;
  /** METRICS_TOKEN: when set, GET /metrics needs it as a bearer token. */
  readonly metricsToken?: string | undefined;
  /** bull-board at /admin/queues; absent (404) without ADMIN_TOKEN. */
  readonly dashboard?: DashboardOptions | undefined;
}
