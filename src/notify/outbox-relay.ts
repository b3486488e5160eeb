import { ZodError } from 'zod';
import type { RedisClient } from '../queue/redis-target';
import type { Logger } from 'pino';
import { CorruptBatchError, type BatchStore } from '../queue/batch-store';
import type { ImageQueue } from '../queue/jobs';
import { OutboxEntry, WEBHOOK_JOB, webhookJobOptions, webhookOutboxKey, type WebhookPolicy, type WebhookQueue } from '../queue/webhook-jobs';
import { webhookJobOf } from './webhook-event';

export interface RelayDeps {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly queue: ImageQueue;
  readonly batches: BatchStore;
  readonly webhooks: WebhookQueue;
  readonly policy: WebhookPolicy;
  readonly logger: Logger;
}

/**
 * Moves outbox entries into the webhooks queue, oldest first. Each entry is added as a job whose
 * id is its webhook-id and only then removed, so a crash in between leaves it to be added again,
 * which BullMQ ignores for an id it already has: exactly one job per event, from any number of
 * relays. Returns how many entries it moved.
 */
export async function relayOutbox(deps: RelayDeps, max = 100): Promise<number> {
  const key = webhookOutboxKey(deps.prefix);
  const texts = await deps.redis.lrange(key, 0, max - 1);
  for (const text of texts) {
    // A malformed entry is dropped, not retried: left at the head, it would hold back every event after it.
    const parsed = OutboxEntry.safeParse(parseJson(text));
    if (parsed.success) {
      const job = await webhookJobOf(parsed.data, deps).catch((err: unknown) => {
        if (!(err instanceof ZodError || err instanceof CorruptBatchError)) throw err; // Redis trouble: the entry stays for the next run
        deps.logger.error({ webhookId: parsed.data.id, err }, 'webhook event dropped: its batch record is malformed');
        return undefined;
      });
      if (job) await deps.webhooks.add(WEBHOOK_JOB, job, webhookJobOptions(deps.policy, job.webhookId));
      else deps.logger.warn({ webhookId: parsed.data.id, batchId: parsed.data.batchId }, 'webhook event dropped: its batch is gone, unfinished or malformed');
    } else {
      deps.logger.error({ entry: text.slice(0, 200) }, 'malformed outbox entry dropped');
    }
    await deps.redis.lrem(key, 1, text);
  }
  return texts.length;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs the relay at start and every `everyMs`; a full page is followed at once by the next. */
export function startOutboxRelay(deps: RelayDeps, everyMs: number): { stop: () => Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = relayOutbox(deps).then(
      (moved) => {
        if (!stopped) timer = setTimeout(tick, moved >= 100 ? 0 : everyMs);
      },
      (err: unknown) => {
        deps.logger.debug({ err }, 'webhook relay skipped');
        if (!stopped) timer = setTimeout(tick, everyMs);
      },
    );
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
