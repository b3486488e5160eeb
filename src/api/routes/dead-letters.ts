import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { requireAdminToken } from '../admin-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { ACCESS_ERRORS, json, problemResponses, READ_ERRORS } from '../openapi';
import { DeadLetterList, DeadLetterParams, DeadLetterQuery, parseParams, parseQuery, RetryAccepted } from '../schemas';

export function deadLettersRouter(deps: Pick<AppDeps, 'adminAccess' | 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  router.use('/dead-letters', requireAdminToken(deps.adminAccess));

  route(
    {
      method: 'get',
      path: '/dead-letters',
      summary: 'Jobs that failed for good',
      description: 'Each entry keeps the failure reason and attempt count. Oldest first.',
      request: { query: DeadLetterQuery },
      security: [{ adminToken: [] }],
      responses: { 200: json(DeadLetterList, 'A page of dead letters'), ...problemResponses([...ACCESS_ERRORS, 'INVALID_REQUEST', 'UNAUTHORIZED', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR']) },
    },
    async (req, res) => {
      const { offset, limit } = parseQuery(DeadLetterQuery, req.query);
      const { total, items } = await deps.imgflow.listDeadLetters(offset, limit);
      const body: DeadLetterList = {
        total,
        offset,
        limit,
        items: items.map((d) => ({
          id: d.id,
          batchId: d.job.batchId,
          originalName: d.job.originalName,
          failedReason: d.failedReason,
          attemptsMade: d.attemptsMade,
          failedAt: d.failedAt,
        })),
      };
      res.json(body);
    },
  );

  route(
    {
      method: 'post',
      path: '/dead-letters/{id}/retry',
      summary: 'Put a dead letter back on the queue',
      description: 'The job runs again under its original id, with a fresh set of attempts.',
      request: { params: DeadLetterParams },
      security: [{ adminToken: [] }],
      responses: { 202: json(RetryAccepted, 'Queued again'), ...problemResponses([...READ_ERRORS, 'UNAUTHORIZED', 'DEAD_LETTER_NOT_FOUND']) },
    },
    async (req, res) => {
      const { id } = parseParams(DeadLetterParams, req.params);
      await deps.imgflow.retryDeadLetter(id);
      const body: RetryAccepted = { jobId: id, statusUrl: `/jobs/${id}` };
      res.status(202).location(body.statusUrl).json(body);
    },
  );

  return router;
}
