import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Imgflow } from '../../core/imgflow';
import { batchAccepted, batchAcceptedResponse } from '../batch-accepted';
import { runMiddleware } from '../run-middleware';
import { submitterOf } from '../api-key-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { HttpError, type ProblemCode } from '../errors';
import { IDEMPOTENCY_DOC, idempotent } from '../idempotent';
import { ACCESS_ERRORS, problemResponses } from '../openapi';
import { submitResumableBatch } from '../resumable-batch';
import { TUS_PATH, UPLOAD_ID } from '../resumable-store';
import { jsonOptionFields, parseUploadFields, UploadFields } from '../schemas';

const COMPLETE_ERRORS: ProblemCode[] = [
  'INVALID_REQUEST', 'INVALID_JSON', 'UPLOAD_NOT_FOUND', 'UPLOAD_EXPIRED', 'UPLOAD_INCOMPLETE', 'UPLOAD_ALREADY_USED', 'FILE_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE', 'TOO_MANY_PIXELS', 'INVALID_OPTIONS', 'UNKNOWN_PRESET', 'TOO_MANY_VARIANTS', 'OUTPUT_TOO_LARGE', 'PRESETS_ONLY',
  'CALLBACK_URL_REFUSED', 'WEBHOOKS_NOT_CONFIGURED', 'INVALID_SCHEDULE', 'INVALID_PRIORITY', 'INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_IN_PROGRESS',
  'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR', 'QUOTA_EXCEEDED', ...ACCESS_ERRORS,
];

type ResumableRouteDeps = Pick<AppDeps, 'resumable' | 'inFlight'> & Partial<Pick<AppDeps, 'idempotency' | 'metrics'>> & { readonly imgflow: Pick<Imgflow, 'submitBatch'> };

const uploadIds = (maxFiles: number) =>
  z
    .array(z.string().regex(UPLOAD_ID))
    .min(1)
    .max(maxFiles)
    .refine((ids) => new Set(ids).size === ids.length, 'lists an upload twice')
    .meta({ description: `1–${maxFiles} finished uploads: the last segment of each upload URL (\`${TUS_PATH}/<uploadId>\`), each once` });

/**
 * Drops the CORS headers tus sets by itself: it would allow any origin (`*`) where corsFor,
 * the app's one CORS policy, allows only CORS_ORIGIN.
 */
function withoutTusCors(res: Response): void {
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => (name.toLowerCase().startsWith('access-control-') ? res : setHeader(name, value));
}

/**
 * The tus 1.0 endpoint; mounted before the body parsers, since tus reads the request body itself.
 * GET is not served: a partial upload is not a download, and tus would send its bytes as stored.
 */
export function tusRouter(deps: Pick<AppDeps, 'resumable'>, registry: OpenAPIRegistry): Router {
  const { router, route } = documentedRouter(registry);
  const { maxSizeBytes, expiryMs } = deps.resumable.store.options;
  const description = `tus 1.0 (https://tus.io/protocols/resumable-upload), extensions creation, creation-with-upload, creation-defer-length, termination, expiration; answers are the protocol's (plain text on errors), not problem+json. At most ${maxSizeBytes} bytes per upload (413 otherwise); an upload expires ${expiryMs / 3_600_000} h after it starts (\`Upload-Expires\`), finished or not, and is then removed. Use a tus client (tus-js-client, Uppy); then POST ${TUS_PATH}/complete.`;
  const request = { params: z.object({ uploadId: z.string().regex(UPLOAD_ID).meta({ description: 'The last segment of the upload URL' }) }) };
  const tus: RequestHandler = async (req, res, next) => {
    const uploadId: unknown = req.params.uploadId;
    // tus joins the id to its directory: only ids it could have made get that far.
    if (uploadId !== undefined && !(typeof uploadId === 'string' && UPLOAD_ID.test(uploadId))) return next();
    withoutTusCors(res);
    await deps.resumable.store.handle(req, res);
  };
  const at = `${TUS_PATH}/{uploadId}`;
  route({ method: 'options', path: TUS_PATH, summary: 'What the tus endpoint supports', description, responses: { 204: { description: '`Tus-Version`, `Tus-Extension`, `Tus-Max-Size`' } } }, tus);
  route({ method: 'post', path: TUS_PATH, summary: 'Start a resumable upload (tus)', description, responses: { 201: { description: 'Created; `Location` is the upload URL', headers: { Location: { schema: { type: 'string' } } } }, 413: { description: '`Upload-Length` over the limit' } } }, tus);
  route({ method: 'head', path: at, summary: 'How much of a resumable upload has arrived (tus)', description, request, responses: { 200: { description: '`Upload-Offset` and `Upload-Length`' }, 404: { description: 'Unknown upload' }, 410: { description: 'Expired upload' } } }, tus);
  route({ method: 'patch', path: at, summary: 'Send more of a resumable upload (tus)', description, request, responses: { 204: { description: 'The new `Upload-Offset`' }, 409: { description: '`Upload-Offset` is not where the upload is' } } }, tus);
  route({ method: 'delete', path: at, summary: 'Abandon a resumable upload (tus)', description, request, responses: { 204: { description: 'Removed' } } }, tus);
  return router;
}

/** POST /uploads/tus/complete: finished tus uploads into a batch. Mounted before the app's JSON parser: it reads its body after the idempotency check. */
export function resumableUploadsRouter(deps: ResumableRouteDeps, registry: OpenAPIRegistry): Router {
  const { router, route } = documentedRouter(registry);
  const { maxFiles } = deps.resumable;
  // Room for MAX_FILES upload ids (a quoted UUID and a comma, 39 bytes) beside the option fields.
  const parseJson = express.json({ limit: maxFiles * 40 + 16 * 1024 });
  const Body = UploadFields.extend({ uploadIds: uploadIds(maxFiles), variants: z.union([z.string(), z.array(z.string())]).optional().meta({ description: 'Preset names, as an array or comma-separated: one output each. Not with `preset` or `options`.' }) });

  route(
    {
      method: 'post',
      path: `${TUS_PATH}/complete`,
      summary: 'Queue finished resumable uploads as a batch',
      description: `Takes 1–${maxFiles} finished tus uploads and queues one job per upload, all or nothing, with the same option fields as POST /process-images (in JSON; \`options\` as an object). Each upload is checked as a multipart file is: at most ${deps.resumable.limits.maxFileSizeBytes} bytes, an accepted image by its magic bytes, its declared pixels under the limit; a refused upload is removed, the others stay and can be completed again. An upload joins one batch only (UPLOAD_ALREADY_USED afterwards). The job's originalName is the upload's \`filename\` metadata.`,
      request: { headers: IDEMPOTENCY_DOC.headers, body: { required: true, content: { 'application/json': { schema: Body } } } },
      responses: {
        202: batchAcceptedResponse('Accepted: every upload is queued', IDEMPOTENCY_DOC.replayed),
        ...problemResponses(COMPLETE_ERRORS),
      },
    },
    idempotent(deps.idempotency, async (req, res) => {
      await runMiddleware(parseJson, req, res);
      return deps.inFlight.track(async () => {
        const fields = jsonOptionFields(req.body);
        const ids = uploadIds(maxFiles).safeParse(fields.uploadIds);
        if (!ids.success) throw new HttpError('INVALID_REQUEST', `uploadIds: expected 1–${maxFiles} distinct upload ids (UUIDs, the last segment of each upload URL): ${ids.error.issues.map((i) => i.message).join('; ')}`);
        const { request, schedule } = parseUploadFields(fields);
        return batchAccepted(await submitResumableBatch(deps, submitterOf(req, res), ids.data, request, schedule));
      });
    }),
  );
  return router;
}
