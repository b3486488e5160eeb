import { isErrno } from '../errno';
import { UnrecoverableError, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import { refusalOf, type GuardedClient } from '../net';
import { retryDelayMs, WebhookJobData, type DeliveryAttempt, type WebhookJobName, type WebhookJobResult, type WebhookPolicy } from '../queue/webhook-jobs';

/** Bytes of a receiver's answer kept with the delivery. */
export const MAX_RESPONSE_BYTES = 1024;

export interface DeliveryDeps {
  readonly client: GuardedClient;
  /** WEBHOOK_SECRET (`whsec_…`). */
  readonly secret: string;
  readonly timeoutMs: number;
  readonly policy: Pick<WebhookPolicy, 'backoffMs'>;
  readonly logger: Logger;
}

export type WebhookProcessor = Processor<WebhookJobData, WebhookJobResult, WebhookJobName>;

/**
 * One delivery attempt: the stored body, signed per Standard Webhooks with this attempt's
 * timestamp under the event's stable webhook-id, POSTed through the guarded client with no
 * redirects. 2xx is delivered; 410 Gone and a refused address stop for good; anything else is
 * retried with backoff. Each attempt's outcome is written to the job first, for the operator routes.
 */
export function createWebhookProcessor(deps: DeliveryDeps): WebhookProcessor {
  const signer = new Webhook(deps.secret);
  return async (job) => {
    const parsed = WebhookJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`INVALID_JOB_DATA: ${parsed.error.message}`);
    const data = parsed.data;
    const sentAt = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'imgflow-webhooks',
      'webhook-id': data.webhookId,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': signer.sign(data.webhookId, sentAt, data.body),
    };
    const willRetry = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const record = async (attempt: Omit<DeliveryAttempt, 'at' | 'nextAttemptAt'>, final: boolean) => {
      const nextAttemptAt = !final && willRetry ? new Date(Date.now() + retryDelayMs(deps.policy, job.attemptsMade + 1)).toISOString() : null;
      await job.updateData({ ...data, last: { at: sentAt.toISOString(), nextAttemptAt, ...attempt } });
    };

    let res;
    try {
      res = await deps.client.request(data.url, { method: 'POST', headers, body: data.body, timeoutMs: deps.timeoutMs, maxRedirects: 0, maxResponseBytes: MAX_RESPONSE_BYTES });
    } catch (err) {
      const refused = refusalOf(err);
      const reason = refused ? `${refused.code}: ${refused.message}` : `NETWORK_ERROR: ${describe(err)}`;
      await record({ statusCode: null, error: reason, response: null }, refused !== undefined);
      throw refused ? new UnrecoverableError(reason) : new Error(reason, { cause: err });
    }
    const response = res.body.toString('utf8');
    const log = deps.logger.child({ webhookId: data.webhookId, batchId: data.batchId, status: res.status });
    if (res.status >= 200 && res.status < 300) {
      await record({ statusCode: res.status, error: null, response }, true);
      log.info('webhook delivered');
      return { statusCode: res.status };
    }
    if (res.status === 410) {
      await record({ statusCode: 410, error: 'HTTP 410 Gone: the receiver asked for no more', response }, true);
      throw new UnrecoverableError('HTTP_410: the receiver asked for no more webhooks');
    }
    await record({ statusCode: res.status, error: `HTTP ${res.status}`, response }, false);
    throw new Error(`HTTP_${res.status}: the receiver did not accept the webhook`);
  };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = isErrno(err) ? err.code : isErrno(err.cause) ? err.cause.code : undefined;
  return code ? `${code} ${err.message}` : err.message;
}
