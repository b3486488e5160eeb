import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { HttpError } from '../errors';
import { json, problemResponses } from '../openapi';
import { Health } from '../schemas';

export function healthRouter(deps: Pick<AppDeps, 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);

  route({ method: 'get', path: '/healthz', summary: 'Liveness: the process is up', responses: { 200: json(Health, 'Up') } }, (_req, res) => {
    res.json({ status: 'ok' });
  });

  route(
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: Redis is reachable',
      responses: { 200: json(Health, 'Ready'), ...problemResponses(['QUEUE_UNAVAILABLE']) },
    },
    async (_req, res) => {
      if (!(await deps.imgflow.isReady())) throw new HttpError('QUEUE_UNAVAILABLE', 'Redis is not reachable');
      res.json({ status: 'ready' });
    },
  );
  return router;
}
