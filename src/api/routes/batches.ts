import { Router } from 'express';
import { readBatchStatus } from '../../queue/job-status';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { BatchParams, parseParams, type BatchStatus } from '../schemas';

export function batchesRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/batches/:batchId', async (req, res) => {
    const { batchId } = parseParams(BatchParams, req.params);
    const batch: BatchStatus | undefined = await readBatchStatus(deps.queue, deps.batches, batchId);
    if (!batch) throw new HttpError('BATCH_NOT_FOUND', `No batch ${batchId}; batches are kept for a limited time`);
    res.json(batch);
  });
  return router;
}
