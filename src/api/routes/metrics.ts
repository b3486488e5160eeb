import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler } from 'express';
import { bearerMatches } from '../../auth/bearer';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { HttpError } from '../errors';
import { problemResponses } from '../openapi';

function requireMetricsToken(token: string | undefined): RequestHandler {
  if (token === undefined) return (_req, _res, next) => next();
  return (req, res, next) => {
    if (bearerMatches(req.headers.authorization, token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer');
    next(new HttpError('UNAUTHENTICATED', 'Scraping needs Authorization: Bearer <METRICS_TOKEN>'));
  };
}

export function metricsRouter(deps: Pick<AppDeps, 'metrics' | 'metricsToken'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  router.use('/metrics', requireMetricsToken(deps.metricsToken));
  const { registry: metrics } = deps.metrics;

  route(
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics of this API process',
      description:
        'Prometheus text format: request durations by method, route template and status; files and bytes accepted; refusals by error code; jobs by queue and state (read from Redis at most every 5 s); open live-event streams; Node process metrics. Each worker serves its own at `WORKER_METRICS_PORT`. Needs `Authorization: Bearer <METRICS_TOKEN>` when the server sets one.',
      security: [{ metricsToken: [] }, {}],
      responses: {
        200: { description: 'The metrics', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } },
        ...problemResponses(['UNAUTHENTICATED', 'INTERNAL_ERROR']),
      },
    },
    async (_req, res) => {
      const text = await metrics.metrics();
      res.type(metrics.contentType).send(text);
    },
  );
  return router;
}
