import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { json, problemResponses, READ_ERRORS } from '../openapi';
import { BatchParams, BatchStatus, parseParams } from '../schemas';

export function batchesRouter(deps: Pick<AppDeps, 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  route(
    {
      method: 'get',
      path: '/batches/{batchId}',
      summary: 'Status of a batch and each of its files',
      request: { params: BatchParams },
      responses: { 200: json(BatchStatus, 'The batch'), ...problemResponses([...READ_ERRORS, 'BATCH_NOT_FOUND']) },
    },
    async (req, res) => {
      const { batchId } = parseParams(BatchParams, req.params);
      const batch: BatchStatus = await deps.imgflow.getBatch(batchId);
      res.json(batch);
    },
  );
  return router;
}
