import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { mimeTypeOf } from '../../pipeline';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { AppError } from '../../core/errors';
import { isErrno } from '../../errno';
import { binary, json, problemResponses, READ_ERRORS } from '../openapi';
import { JobParams, JobStatus, parseParams } from '../schemas';

export function jobsRouter(deps: Pick<AppDeps, 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);

  route(
    {
      method: 'get',
      path: '/jobs/{jobId}',
      summary: 'Status of one job (one file)',
      request: { params: JobParams },
      responses: { 200: json(JobStatus, 'The job'), ...problemResponses([...READ_ERRORS, 'JOB_NOT_FOUND']) },
    },
    async (req, res) => {
      const { jobId } = parseParams(JobParams, req.params);
      const job: JobStatus = await deps.imgflow.getJob(jobId);
      res.json(job);
    },
  );

  route(
    {
      method: 'get',
      path: '/jobs/{jobId}/result',
      summary: 'Download the processed image',
      request: { params: JobParams },
      responses: {
        200: { description: 'The processed image', content: { 'image/jpeg': { schema: binary }, 'image/png': { schema: binary }, 'image/webp': { schema: binary }, 'image/avif': { schema: binary } } },
        ...problemResponses([...READ_ERRORS, 'JOB_NOT_FOUND', 'RESULT_NOT_READY', 'RESULT_EXPIRED']),
      },
    },
    async (req, res) => {
      const { jobId } = parseParams(JobParams, req.params);
      const result = await deps.imgflow.findResult(jobId);
      res.type(mimeTypeOf(result.format));
      await new Promise<void>((resolve, reject) =>
        res.sendFile(result.path, { dotfiles: 'deny', headers: { 'Cache-Control': 'private, max-age=3600' } }, (err) => {
          if (!err) return resolve();
          reject(isErrno(err, 'ENOENT') ? new AppError('RESULT_EXPIRED', `The output of job ${jobId} has been removed by retention`) : err);
        }),
      );
    },
  );

  return router;
}
