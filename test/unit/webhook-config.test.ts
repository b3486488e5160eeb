import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config';
import { retryDelayMs } from '../../src/queue/webhook-jobs';

describe('webhook and outbound configuration', () => {
  it('defaults to no webhooks, the address check on, 10 attempts and a 10 s timeout', () => {
    expect(loadConfig({})).toMatchObject({
      outbound: { allowPrivate: false },
      webhooks: { secret: undefined, attempts: 10, backoffMs: 10_000, timeoutMs: 10_000 },
    });
  });

  it('spreads the default attempts over more than an hour', () => {
    const { webhooks } = loadConfig({});
    let total = 0;
    for (let failed = 1; failed < webhooks.attempts; failed++) total += retryDelayMs(webhooks, failed);
    expect(total).toBeGreaterThan(3600_000);
  });

  it.each([[24], [32], [64]])('accepts a whsec_ secret of %i bytes', (bytes) => {
    const secret = `whsec_${randomBytes(bytes).toString('base64')}`;
    expect(loadConfig({ WEBHOOK_SECRET: secret }).webhooks.secret).toBe(secret);
  });

  it.each([
    ['too short', `whsec_${randomBytes(16).toString('base64')}`],
    ['too long', `whsec_${randomBytes(65).toString('base64')}`],
    ['without the prefix', randomBytes(32).toString('base64')],
    ['not base64', 'whsec_this is not base64 at all, not at all!!'],
  ])('refuses a secret %s, naming the variable but never echoing it', (_why, secret) => {
    let error: unknown;
    try {
      loadConfig({ WEBHOOK_SECRET: secret });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^WEBHOOK_SECRET: expected whsec_/)]);
    expect((error as Error).message).not.toContain(secret);
  });

  it('reads ALLOW_PRIVATE_URLS as a flag, so "false" stays false', () => {
    expect(loadConfig({ ALLOW_PRIVATE_URLS: 'false' }).outbound.allowPrivate).toBe(false);
    expect(loadConfig({ ALLOW_PRIVATE_URLS: 'true' }).outbound.allowPrivate).toBe(true);
  });
});
