import type { Request } from 'express';
import { Router } from 'express';
import { enqueueBatch } from '../../queue/enqueue-batch';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { createUploadReceiver, discardUploads, type StoredUpload, type UploadReceiver } from '../multipart';
import type { BatchAccepted, UploadAccepted } from '../schemas';

/**
 * Receives and enqueues one request's files as a batch. If the client went away meanwhile, or
 * enqueueing fails, the stored files are removed: nothing is orphaned and no half batch exists.
 * Tracked as in flight, so a shutdown waits for it to finish either way.
 */
function acceptBatch(deps: AppDeps, receive: UploadReceiver, req: Request, res: Parameters<UploadReceiver>[1]) {
  return deps.inFlight.track(async () => {
    const uploads: StoredUpload[] = await receive(req, res);
    try {
      if (req.socket.destroyed) throw new HttpError('REQUEST_ABORTED', 'The client disconnected before the upload was accepted');
      return await enqueueBatch(deps, uploads, deps.spec);
    } catch (err) {
      await discardUploads(uploads);
      throw err;
    }
  });
}

export function uploadsRouter(deps: AppDeps): Router {
  const router = Router();
  const receiveImages = createUploadReceiver('images', deps.uploads.maxFiles, deps.uploads, deps.inFlight);
  const receiveMedia = createUploadReceiver('media', 1, deps.uploads, deps.inFlight);

  router.post('/process-images', async (req, res) => {
    const { batchId, files } = await acceptBatch(deps, receiveImages, req, res);
    const body: BatchAccepted = {
      batchId,
      statusUrl: `/batches/${batchId}`,
      totalFiles: files.length,
      jobs: files.map((f) => ({ ...f, statusUrl: `/jobs/${f.jobId}` })),
    };
    res.status(202).location(body.statusUrl).json(body);
  });

  router.post('/upload', async (req, res) => {
    const { batchId, files } = await acceptBatch(deps, receiveMedia, req, res);
    const jobId = files[0]?.jobId as string;
    const body: UploadAccepted = { jobId, batchId, statusUrl: `/jobs/${jobId}` };
    res.status(202).location(body.statusUrl).json(body);
  });

  return router;
}
