import { Router } from 'express';
import { isRedisUnavailable } from '../../queue/connection';
import { enqueueBatch } from '../../queue/enqueue-batch';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { createUploadMiddleware, discardUploads, type StoredUpload } from '../multipart';
import type { BatchAccepted, UploadAccepted } from '../schemas';

/** Enqueues stored uploads as one batch; if that fails, the files go too, so nothing is orphaned. */
async function acceptBatch(deps: AppDeps, uploads: readonly StoredUpload[]) {
  try {
    return await enqueueBatch(deps, uploads, deps.spec);
  } catch (err) {
    await discardUploads(uploads);
    if (isRedisUnavailable(err)) throw new HttpError('QUEUE_UNAVAILABLE', 'The job queue is unreachable; nothing was stored, try again shortly', { cause: err });
    throw err;
  }
}

export function uploadsRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/process-images', createUploadMiddleware('images', deps.uploads.maxFiles, deps.uploads), async (req, res) => {
    const { batchId, files } = await acceptBatch(deps, req.uploads ?? []);
    const body: BatchAccepted = {
      batchId,
      statusUrl: `/batches/${batchId}`,
      totalFiles: files.length,
      jobs: files.map((f) => ({ ...f, statusUrl: `/jobs/${f.jobId}` })),
    };
    res.status(202).location(body.statusUrl).json(body);
  });

  router.post('/upload', createUploadMiddleware('media', 1, deps.uploads), async (req, res) => {
    const { batchId, files } = await acceptBatch(deps, req.uploads ?? []);
    const jobId = files[0]?.jobId as string;
    const body: UploadAccepted = { jobId, batchId, statusUrl: `/jobs/${jobId}` };
    res.status(202).location(body.statusUrl).json(body);
  });

  return router;
}
