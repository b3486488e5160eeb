import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** completed; retrying (an attempt failed, another follows); failed (for good, dead-lettered). */
export type JobOutcome = 'completed' | 'retrying' | 'failed';

/** What the image worker records about its jobs. */
export interface JobMetrics {
  jobFinished(outcome: JobOutcome, code: string): void;
  /** A job's transform: its first variant's preset and format, the seconds it took and the input's size. */
  jobProcessed(job: { preset: string; format: string; seconds: number; megapixels: number | undefined }): void;
}

export interface WorkerMetrics extends JobMetrics {
  readonly registry: Registry;
}

// From a thumbnail (tens of ms) to a 100-megapixel input with several variants (a minute).
const PROCESSING_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const MEGAPIXEL_BUCKETS = [0.1, 0.5, 1, 2, 5, 12, 25, 50, 100];

/** `sharpCounters` is sharp.counters(): images waiting for a libvips thread, and being processed. */
export function createWorkerMetrics(registry: Registry, sharpCounters: () => { queue: number; process: number }): WorkerMetrics {
  const finished = new Counter({ name: 'imgflow_worker_jobs_total', help: 'Image jobs finished by outcome and error code', labelNames: ['outcome', 'code'], registers: [registry] });
  const processing = new Histogram({
    name: 'imgflow_worker_processing_seconds',
    help: 'Time to transform and write a job, by its first variant\'s preset and format',
    labelNames: ['preset', 'format'],
    buckets: PROCESSING_BUCKETS,
    registers: [registry],
  });
  const megapixels = new Histogram({ name: 'imgflow_worker_input_megapixels', help: 'Input size of processed images, from their header', buckets: MEGAPIXEL_BUCKETS, registers: [registry] });
  new Gauge({
    name: 'imgflow_sharp_tasks',
    help: 'Sharp tasks by state: queue (waiting for a libvips thread) and process (running)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { queue, process } = sharpCounters();
      this.set({ state: 'queue' }, queue);
      this.set({ state: 'process' }, process);
    },
  });
  return {
    registry,
    jobFinished: (outcome, code) => finished.inc({ outcome, code }),
    jobProcessed: ({ preset, format, seconds, megapixels: size }) => {
      processing.observe({ preset, format }, seconds);
      if (size !== undefined) megapixels.observe(size);
    },
  };
}
