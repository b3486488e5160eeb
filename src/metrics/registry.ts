import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry of its own with Node's process metrics (CPU, memory, handles, GC, event-loop delay),
 * rather than prom-client's global one: each composition root owns what it exports, and two
 * roots in one process (tests) do not register the same series twice.
 */
export function createMetricsRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}
