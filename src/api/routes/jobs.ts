import path from 'node:path';
import { Router } from 'express';
import { mimeTypeOf } from '../../pipeline';
import { readJobStatus } from '../../queue/job-status';
import { isErrnoException } from '../../storage/file-store';
import { pathInStore } from '../../storage/local-file-store';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { JobParams, parseParams, type JobStatus } from '../schemas';

export function jobsRouter(deps: AppDeps): Router {
  const router = Router();

  const findJob = async (params: unknown): Promise<JobStatus> => {
    const { jobId } = parseParams(JobParams, params);
    const job = await readJobStatus(deps.queue, jobId);
    if (!job) throw new HttpError('JOB_NOT_FOUND', `No job ${jobId}; finished jobs are kept for a limited time`);
    return job;
  };

  router.get('/jobs/:jobId', async (req, res) => {
    res.json(await findJob(req.params));
  });

  router.get('/jobs/:jobId/result', async (req, res) => {
    const job = await findJob(req.params);
    if (job.state !== 'completed' || !job.result) {
      throw new HttpError('RESULT_NOT_READY', `Job ${job.jobId} is ${job.state}; the result exists once it is completed`);
    }
    const file = pathInStore(deps.processedDir, path.basename(job.result.outputPath));
    res.type(mimeTypeOf(job.result.format));
    await new Promise<void>((resolve, reject) =>
      res.sendFile(file, { dotfiles: 'deny', headers: { 'Cache-Control': 'private, max-age=3600' } }, (err) => {
        if (!err) return resolve();
        reject(isErrnoException(err) && err.code === 'ENOENT' ? new HttpError('RESULT_EXPIRED', `The output of job ${job.jobId} has been removed by retention`) : err);
      }),
    );
  });

  return router;
}
