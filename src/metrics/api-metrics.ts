import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { cachedFor } from './cached';

/** Job counts by state, per queue name. */
export type QueueCounts = Record<string, Record<string, number>>;

export interface ApiMetricSources {
  /** Read from Redis at most once per `queueCountsTtlMs`, however often Prometheus scrapes. */
  readonly queueCounts: () => Promise<QueueCounts>;
  readonly openStreams: () => number;
  readonly queueCountsTtlMs?: number;
}

/** What the API records; the registry is what GET /metrics serves. */
export interface ApiMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  acceptFiles(sizes: readonly number[]): void;
  refuse(code: string): void;
}

// From a poll (a few ms) to a large upload on a slow link (a minute).
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createApiMetrics(registry: Registry, sources: ApiMetricSources): ApiMetrics {
  const duration = new Histogram({
    name: 'imgflow_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const files = new Counter({ name: 'imgflow_files_accepted_total', help: 'Uploaded files accepted and queued', registers: [registry] });
  const bytes = new Counter({ name: 'imgflow_bytes_accepted_total', help: 'Bytes of the uploaded files accepted and queued', registers: [registry] });
  const refusals = new Counter({ name: 'imgflow_http_refusals_total', help: 'problem+json answers by error code', labelNames: ['code'], registers: [registry] });
  const queueCounts = cachedFor(sources.queueCountsTtlMs ?? 5000, sources.queueCounts);
  new Gauge({
    name: 'imgflow_queue_jobs',
    help: 'Jobs by queue and state (read from Redis at most every 5 s)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      // Redis down: the scrape still answers with the process metrics; the gauge keeps its last values.
      const counts = await queueCounts().catch(() => undefined);
      if (!counts) return;
      for (const [queue, states] of Object.entries(counts)) {
        for (const [state, count] of Object.entries(states)) this.set({ queue, state }, count);
      }
    },
  });
  new Gauge({
    name: 'imgflow_event_streams_open',
    help: 'Live-event (SSE) streams open on this API process',
    registers: [registry],
    collect() {
      this.set(sources.openStreams());
    },
  });

  return {
    registry,
    observeRequest: (method, route, status, seconds) => duration.observe({ method, route, status: String(status) }, seconds),
    acceptFiles: (sizes) => {
      files.inc(sizes.length);
      bytes.inc(sizes.reduce((sum, size) => sum + size, 0));
    },
    refuse: (code) => refusals.inc({ code }),
  };
}
