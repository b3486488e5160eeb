import { Router } from 'express';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';

export function healthRouter(deps: Pick<AppDeps, 'redis'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const ready = deps.redis.status === 'ready' && (await deps.redis.ping().then(() => true, () => false));
    if (!ready) throw new HttpError('QUEUE_UNAVAILABLE', 'Redis is not reachable');
    res.json({ status: 'ready' });
  });
  return router;
}
