import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ApiKeyEntry } from '../api-keys';
import type { Imgflow } from '../core/imgflow';
import type { AdminAccess } from './admin-auth';
import type { IdempotencyStore } from './idempotency-store';
import type { InFlight } from './in-flight';
import type { UploadLimits } from './multipart';

/** Everything the HTTP layer needs, built by compose.ts (or by a test) and handed to createApp. */
export interface AppDeps {
  readonly logger: Logger;
  /** The use cases; routes are adapters over it. */
  readonly imgflow: Imgflow;
  readonly uploads: UploadLimits;
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
  /** Idempotency-Key claims and stored responses of the upload routes. */
  readonly idempotency: IdempotencyStore;
}
