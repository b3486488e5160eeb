import { Router } from 'express';
import { listDeadLetters, retryDeadLetter } from '../../queue/dead-letter';
import { requireAdminToken } from '../admin-auth';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { DeadLetterParams, DeadLetterQuery, parseParams, parseQuery, type DeadLetterList, type RetryAccepted } from '../schemas';

export function deadLettersRouter(deps: AppDeps): Router {
  const router = Router();
  router.use('/dead-letters', requireAdminToken(deps.adminAccess));

  router.get('/dead-letters', async (req, res) => {
    const { offset, limit } = parseQuery(DeadLetterQuery, req.query);
    const { total, items } = await listDeadLetters(deps.deadLetters, offset, limit);
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
  });

  router.post('/dead-letters/:id/retry', async (req, res) => {
    const { id } = parseParams(DeadLetterParams, req.params);
    if (!(await retryDeadLetter(deps, id))) throw new HttpError('DEAD_LETTER_NOT_FOUND', `No dead letter ${id}`);
    const body: RetryAccepted = { jobId: id, statusUrl: `/jobs/${id}` };
    res.status(202).location(body.statusUrl).json(body);
  });

  return router;
}
