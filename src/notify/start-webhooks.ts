import type { Logger } from 'pino';
import type { Config } from '../config';
import { createGuardedClient } from '../net';
import type { ShutdownStep } from '../shutdown';
import { createWebhookProcessor } from './deliver-webhook';
import { startOutboxRelay, type RelayDeps } from './outbox-relay';
import { createWebhookWorker } from './webhook-worker';

/**
 * The worker process's webhook side: the outbox relay and the delivery worker over the guarded
 * client. Nothing runs without WEBHOOK_SECRET (the API then refuses callbacks, so none are queued).
 */
export function startWebhooks(config: Config, ports: Omit<RelayDeps, 'policy' | 'logger' | 'prefix'>, logger: Logger): readonly ShutdownStep[] {
  const { secret, concurrency, timeoutMs, relayIntervalMs } = config.webhooks;
  if (secret === undefined) {
    logger.info('no WEBHOOK_SECRET: webhook delivery is off');
    return [];
  }
  const client = createGuardedClient({ allowPrivate: config.outbound.allowPrivate, connectTimeoutMs: timeoutMs });
  const processor = createWebhookProcessor({ client, secret, timeoutMs, policy: config.webhooks, logger });
  const worker = createWebhookWorker({ connection: ports.redis, prefix: config.redis.prefix, processor, concurrency, logger });
  const relay = startOutboxRelay({ ...ports, prefix: config.redis.prefix, policy: config.webhooks, logger }, relayIntervalMs);
  return [
    ['webhook relay', relay.stop],
    ['webhook worker', () => worker.close()],
    ['outbound http', () => client.close()],
  ];
}
