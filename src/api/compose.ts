import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { createImgflow } from '../core/imgflow';
import { openPorts, type Ports } from '../core/ports';
import { BUILT_IN_PRESETS } from '../core/presets';
import { closeRedis, closeUnlessDown, redisConnection } from '../queue/connection';
import { createEventLog } from '../queue/event-log';
import { createEventFanOut, type EventFanOut } from '../queue/event-fan-out';
import { imageEventsKey } from '../queue/events';
import { createApiMetrics } from '../metrics/api-metrics';
import { createMetricsRegistry } from '../metrics/registry';
import type { ShutdownStep } from '../shutdown';
import { adminAccess } from './admin-auth';
import { createApp } from './app';
import type { AppDeps } from './deps';
import { createDirectUploadStore } from './direct-upload-store';
import { createIdempotencyStore } from './idempotency-store';
import { InFlight } from './in-flight';
import { createResumableStore } from './resumable-store';
import { startResumableSweep } from './resumable-sweep';
import { createUploadClaims } from './upload-claims';
import { watchQueueEvents } from './queue-events';
import { noRateLimit, rateLimit } from './rate-limit';

export interface ApiContext {
  readonly app: Express;
  readonly deps: AppDeps;
  /** The ports under the use cases, for tests that look behind the API. */
  readonly ports: Ports;
  /** The one reader of the event stream that every open live stream shares. */
  readonly events: EventFanOut;
  /**
   * Ends the open event streams. A caller that closes HTTP runs this first, or the streams would
   * hold the server's drain to its end; closeSteps runs it again (at no cost) for those that do not.
   */
  readonly endStreams: ShutdownStep;
  /** In order: event streams, uploads in flight, event subscription, queues, connections. The caller closes HTTP first. */
  readonly closeSteps: readonly ShutdownStep[];
}

const REQUEST_CLAIM_MARGIN_MS = 15_000;

/** Opens the API's connections and builds the app from config; used by main.ts and by tests. */
export function composeApi(config: Config, logger: Logger): ApiContext {
  const ports = openPorts(config, logger, 'producer');
  const eventsRedis = redisConnection(config.redis.target, 'worker');
  eventsRedis.on('error', () => undefined); // the producer connection already reports outages
  const events = config.logQueueEvents ? watchQueueEvents(eventsRedis, config.redis.prefix, logger) : undefined;
  const key = imageEventsKey(config.redis.prefix);
  const fanOut = createEventFanOut(eventsRedis, { key, log: createEventLog(ports.redis, key), logger });
  const endStreams: ShutdownStep = ['event streams', () => fanOut.close()];
  // Its own connection, so the limiter's commands never queue behind BullMQ's.
  const limitsRedis = config.limits.requestsPerMin > 0 ? redisConnection(config.redis.target, 'producer') : undefined;
  limitsRedis?.on('error', () => undefined); // the producer connection already reports outages
  const resumable = createResumableStore(config.resumable, logger);
  const stopSweep = startResumableSweep(resumable, logger);
  const metrics = createApiMetrics(createMetricsRegistry(), {
    queueCounts: async () => {
      const [images, deadLetters, webhooks] = await Promise.all([ports.queue.getJobCounts(), ports.deadLetters.getJobCounts(), ports.webhooks.getJobCounts()]);
      return { [ports.queue.name]: images, [ports.deadLetters.name]: deadLetters, [ports.webhooks.name]: webhooks };
    },
    openStreams: () => fanOut.subscribers,
  });

  const deps: AppDeps = {
    logger,
    imgflow: createImgflow(ports, {
      policy: config.jobs,
      outputs: {
        presets: { ...BUILT_IN_PRESETS, ...config.transform.presets },
        maxVariants: config.transform.maxVariants,
        onlyPresets: config.transform.onlyPresets,
        maxInputPixels: config.uploads.maxInputPixels,
        maxOutputPixels: config.transform.maxOutputPixels,
        autoQualityTarget: config.transform.autoQualityTarget,
      },
      webhooks: { enabled: config.webhooks.secret !== undefined, allowPrivateUrls: config.outbound.allowPrivate },
      urls: { maxUrls: config.urls.maxUrls },
      maxQueuedFiles: config.limits.maxQueuedFiles,
    }, fanOut),
    uploads: config.uploads,
    uploadStore: ports.files.uploads,
    directUploads: createDirectUploadStore(ports.redis, { prefix: config.redis.prefix, pendingTtlMs: config.http.requestTimeoutMs + REQUEST_CLAIM_MARGIN_MS }),
    urls: config.urls,
    maxVariants: config.transform.maxVariants,
    corsOrigin: config.http.corsOrigin,
    adminAccess: adminAccess(config.http.adminToken),
    apiKeys: config.apiKeys,
    rateLimit: limitsRedis ? rateLimit({ redis: limitsRedis, prefix: config.redis.prefix, requestsPerMin: config.limits.requestsPerMin, logger }) : noRateLimit,
    inFlight: new InFlight(),
    idempotency: createIdempotencyStore(ports.redis, {
      prefix: config.redis.prefix,
      // Node ends a request after REQUEST_TIMEOUT_MS; the margin covers enqueueing after the last byte (a few Redis replies of at most 2 s).
      claimTtlMs: config.http.requestTimeoutMs + REQUEST_CLAIM_MARGIN_MS,
      replayTtlMs: 24 * 3600 * 1000,
    }),
    resumable: {
      store: resumable,
      claims: createUploadClaims(ports.redis, {
        prefix: config.redis.prefix,
        pendingTtlMs: config.http.requestTimeoutMs + REQUEST_CLAIM_MARGIN_MS,
        usedTtlMs: config.resumable.expiryMs,
      }),
      uploads: ports.files.uploads,
      limits: { maxFileSizeBytes: config.resumable.maxSizeBytes, maxInputPixels: config.uploads.maxInputPixels, allowSvg: config.uploads.allowSvg },
      maxFiles: config.uploads.maxFiles,
    },
    metrics,
    metricsToken: config.metrics.token,
    dashboard: config.http.adminToken
      ? { token: config.http.adminToken, queues: [ports.queue, ports.deadLetters, ports.webhooks], readOnly: config.http.adminReadOnly }
      : undefined,
  };
  return {
    app: createApp(deps),
    deps,
    ports,
    events: fanOut,
    endStreams,
    closeSteps: [
      endStreams,
      ['uploads in flight', () => deps.inFlight.idle()],
      ['resumable sweep', stopSweep],
      ['queue events', async () => (events ? closeUnlessDown(eventsRedis, () => events.close()) : undefined)],
      ['events redis', () => closeRedis(eventsRedis)],
      ['rate limit redis', async () => limitsRedis && closeRedis(limitsRedis)],
      ...ports.closeSteps,
    ],
  };
}
