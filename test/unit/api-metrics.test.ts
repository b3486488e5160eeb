import { createApiMetrics } from '../../src/metrics/api-metrics';
import { createMetricsRegistry } from '../../src/metrics/registry';
import { createWorkerMetrics } from '../../src/metrics/worker-metrics';

describe('createApiMetrics', () => {
  it('reads the queue counts once for scrapes within the cache interval', async () => {
    let loads = 0;
    const metrics = createApiMetrics(createMetricsRegistry(), {
      queueCounts: async () => ({ images: { waiting: ++loads, completed: 7 } }),
      openStreams: () => 2,
    });
    const [first, second] = await Promise.all([metrics.registry.metrics(), metrics.registry.metrics()]);
    expect(loads).toBe(1);
    for (const text of [first, second]) expect(text).toContain('imgflow_queue_jobs{queue="images",state="waiting"} 1');
    expect(first).toContain('imgflow_queue_jobs{queue="images",state="completed"} 7');
    expect(first).toContain('imgflow_event_streams_open 2');
  });

  it('still answers a scrape, with process metrics, while the queue counts fail', async () => {
    const metrics = createApiMetrics(createMetricsRegistry(), { queueCounts: () => Promise.reject(new Error('redis down')), openStreams: () => 0 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toMatch(/^imgflow_queue_jobs\{/m);
  });

  it('adds up accepted files and their bytes, and refusals by code', async () => {
    const metrics = createApiMetrics(createMetricsRegistry(), { queueCounts: async () => ({}), openStreams: () => 0 });
    metrics.acceptFiles([100, 250, 3]);
    metrics.refuse('FILE_TOO_LARGE');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^imgflow_files_accepted_total 3$/m);
    expect(text).toMatch(/^imgflow_bytes_accepted_total 353$/m);
    expect(text).toMatch(/^imgflow_http_refusals_total\{code="FILE_TOO_LARGE"\} 1$/m);
  });
});

describe('createWorkerMetrics', () => {
  it('reports Sharp\'s counters as they are at scrape time', async () => {
    let counters = { queue: 0, process: 0 };
    const metrics = createWorkerMetrics(createMetricsRegistry(), () => counters);
    counters = { queue: 4, process: 2 };
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^imgflow_sharp_tasks\{state="queue"\} 4$/m);
    expect(text).toMatch(/^imgflow_sharp_tasks\{state="process"\} 2$/m);
  });
});
