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
      summary: 'Readiness: Redis and the file storage are reachable',
      responses: { 200: json(Health, 'Ready'), ...problemResponses(['QUEUE_UNAVAILABLE', 'STORAGE_UNAVAILABLE']) },
    },
    async (_req, res) => {
      const [queue, storage] = await Promise.all([deps.imgflow.isReady(), deps.imgflow.isStorageReady()]);
      if (!queue) throw new HttpError('QUEUE_UNAVAILABLE', 'Redis is not reachable');
      if (!storage) throw new HttpError('STORAGE_UNAVAILABLE', 'The file storage is not reachable (with STORAGE_DRIVER=s3: HeadBucket failed)');
      res.json({ status: 'ready' });
    },
  );
  return router;
}
