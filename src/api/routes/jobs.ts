import { pipeline } from 'node:stream/promises';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { FILE_EXTENSIONS, mimeTypeOf, type OutputFormat } from '../../pipeline';
import { callerOf } from '../api-key-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { AppError } from '../../core/errors';
import { isErrno } from '../../errno';
import { DEFAULT_VARIANT, RESULT_CACHE_CONTROL } from '../../storage/output-name';
import { binary, json, problemResponses, READ_ERRORS } from '../openapi';
import { JobParams, JobStatus, parseParams, parseQuery, ResultQuery } from '../schemas';

/**
 * `inline` with a file name made of the client's (already sanitised) name, without its extension,
 * the variant's unless it is the default, and the output's extension: an ASCII fallback with anything outside a safe set replaced, and the UTF-8 name (RFC 6266).
 */
export function contentDisposition(originalName: string, format: OutputFormat, variant: string): string {
  // A URL job's name is its URL: its last path segment names the download.
  const base = /^https?:\/\//i.test(originalName) ? (originalName.split(/[?#]/)[0]?.split('/').pop() ?? '') : originalName;
  const stem = base.replace(/\.[^.]*$/, '') || 'image';
  const name = `${stem}${variant === DEFAULT_VARIANT ? '' : `-${variant}`}.${FILE_EXTENSIONS[format]}`;
  const ascii = name.replace(/[^\w.\- ]/g, '_');
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

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
      const job: JobStatus = await deps.imgflow.getJob(callerOf(res), jobId);
      res.json(job);
    },
  );

  route(
    {
      method: 'get',
      path: '/jobs/{jobId}/result',
      summary: 'Download a processed image',
      description: 'One variant of the job (the first unless `variant` names another), with a Content-Disposition file name from the uploaded one. With `STORAGE_DRIVER=s3` the answer is `302` to a signed URL of the bucket (valid `S3_URL_TTL_S`, serving the same headers), unless `proxy=true`.',
      request: { params: JobParams, query: ResultQuery },
      responses: {
        200: {
          description: 'The processed image',
          headers: { 'Content-Disposition': { description: 'inline, with the original name and the format\'s extension', schema: { type: 'string' } } },
          content: Object.fromEntries(['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/gif'].map((type) => [type, { schema: binary }])),
        },
        302: { description: 'Object storage: the image is at the signed URL in `Location`', headers: { Location: { description: 'A signed URL of the bucket', schema: { type: 'string' } } } },
        ...problemResponses([...READ_ERRORS, 'INVALID_REQUEST', 'JOB_NOT_FOUND', 'RESULT_NOT_READY', 'VARIANT_NOT_FOUND', 'RESULT_EXPIRED', 'STORAGE_UNAVAILABLE']),
      },
    },
    async (req, res) => {
      const { jobId } = parseParams(JobParams, req.params);
      const { variant, proxy } = parseQuery(ResultQuery, req.query);
      const result = await deps.imgflow.findResult(callerOf(res), jobId, variant);
      const contentType = mimeTypeOf(result.format);
      const headers = { 'Cache-Control': RESULT_CACHE_CONTROL, 'Content-Disposition': contentDisposition(result.originalName, result.format, result.variant) };
      const source = await deps.imgflow.resultSource(result, { proxy, contentType, contentDisposition: headers['Content-Disposition'] });
      if ('redirect' in source) {
        // The signed URL is the client's own for a while; no cache may hand it to someone else.
        res.set('Cache-Control', 'no-store').redirect(302, source.redirect);
        return;
      }
      res.type(contentType);
      if ('stream' in source) {
        res.set(headers);
        await pipeline(source.stream, res);
        return;
      }
      const filePath = source.path;
      await new Promise<void>((resolve, reject) =>
        res.sendFile(filePath, { dotfiles: 'deny', headers }, (err) => {
          if (!err) return resolve();
          reject(isErrno(err, 'ENOENT') ? new AppError('RESULT_EXPIRED', `The output of job ${jobId} has been removed by retention`) : err);
        }),
      );
    },
  );

  return router;
}
