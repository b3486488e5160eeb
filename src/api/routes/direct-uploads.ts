import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express from 'express';
import type { Imgflow } from '../../core/imgflow';
import { batchAccepted, batchAcceptedResponse } from '../batch-accepted';
import { runMiddleware } from '../run-middleware';
import { callerOf, submitterOf } from '../api-key-auth';
import type { AppDeps } from '../deps';
import { completeDirectUpload, signingStore, startDirectUpload } from '../direct-uploads';
import { documentedRouter } from '../documented-router';
import { HttpError, type ProblemCode } from '../errors';
import { IDEMPOTENCY_DOC, idempotent } from '../idempotent';
import { ACCESS_ERRORS, json, problemResponses } from '../openapi';
import { CompleteUploadBody, DirectUploadRequest, DirectUploadStarted, jsonOptionFields, parseParams, parseUploadFields, UploadIdParams } from '../schemas';

const START_ERRORS: ProblemCode[] = ['DIRECT_UPLOADS_UNSUPPORTED', 'INVALID_JSON', 'INVALID_REQUEST', 'NO_FILES', 'TOO_MANY_FILES', 'FILE_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'QUOTA_EXCEEDED', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR', ...ACCESS_ERRORS];
const COMPLETE_ERRORS: ProblemCode[] = [
  'DIRECT_UPLOADS_UNSUPPORTED', 'INVALID_ID', 'INVALID_JSON', 'UPLOAD_NOT_FOUND', 'UPLOAD_ALREADY_COMPLETED', 'UPLOAD_INCOMPLETE', 'UPLOAD_SIZE_MISMATCH',
  'FILE_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'TOO_MANY_PIXELS', 'INVALID_OPTIONS', 'UNKNOWN_PRESET', 'TOO_MANY_VARIANTS', 'OUTPUT_TOO_LARGE', 'PRESETS_ONLY',
  'CALLBACK_URL_REFUSED', 'WEBHOOKS_NOT_CONFIGURED', 'INVALID_SCHEDULE', 'INVALID_PRIORITY', 'INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_IN_PROGRESS', 'QUOTA_EXCEEDED', 'QUEUE_UNAVAILABLE',
  'STORAGE_UNAVAILABLE', 'INTERNAL_ERROR', ...ACCESS_ERRORS,
];

type DirectUploadRouteDeps = Pick<AppDeps, 'uploads' | 'uploadStore' | 'directUploads' | 'inFlight'> & Partial<Pick<AppDeps, 'idempotency'>> & { readonly imgflow: Pick<Imgflow, 'submitBatch' | 'checkQueuedFiles'> };

export function directUploadsRouter(deps: DirectUploadRouteDeps, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const { maxFiles, maxFileSizeBytes } = deps.uploads;
  const check = { store: deps.uploadStore, sessions: deps.directUploads, limits: deps.uploads };
  // Room for MAX_FILES entries with names of 1 KB; the app's 16 KB limit would refuse a large batch.
  const parseJson = express.json({ limit: maxFiles * 1200 + 16 * 1024 });
  const complete = idempotent(deps.idempotency, async (req, res) => {
    const { uploadId } = parseParams(UploadIdParams, req.params);
    signingStore(deps.uploadStore);
    await runMiddleware(parseJson, req, res);
    const { request, schedule } = parseUploadFields(jsonOptionFields(req.body));
    return batchAccepted(await deps.inFlight.track(() => completeDirectUpload(check, uploadId, callerOf(res), (images) => deps.imgflow.submitBatch(submitterOf(req, res), images, request, schedule))));
  });

  route(
    {
      method: 'post',
      path: '/uploads',
      summary: 'Start a direct upload: signed URLs to PUT the files straight into the bucket',
      description: `With STORAGE_DRIVER=s3 only (otherwise 501 DIRECT_UPLOADS_UNSUPPORTED). Declares 1–${maxFiles} files of at most ${maxFileSizeBytes} bytes each, with the limits of POST /process-images, and answers one signed PUT URL per file: the bytes never pass through the API. Then POST /uploads/{uploadId}/complete. A session not completed is forgotten S3_URL_TTL_S after its URLs expire, and its files are removed by the workers' orphan sweep.`,
      request: { body: { required: true, content: { 'application/json': { schema: DirectUploadRequest } } } },
      responses: { 201: json(DirectUploadStarted, 'The session, with a URL per file'), ...problemResponses(START_ERRORS) },
    },
    async (req, res) => {
      const signing = signingStore(deps.uploadStore);
      await runMiddleware(parseJson, req, res);
      const parsed = DirectUploadRequest.safeParse(req.body);
      if (!parsed.success) throw new HttpError('INVALID_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      // Refused before any URL is signed, as multipart refuses before the body is read.
      await deps.imgflow.checkQueuedFiles(submitterOf(req, res), parsed.data.files.length);
      const body: DirectUploadStarted = await deps.inFlight.track(() => startDirectUpload({ ...check, signing }, parsed.data.files, callerOf(res)));
      res.status(201).json(body);
    },
  );

  route(
    {
      method: 'post',
      path: '/uploads/{uploadId}/complete',
      summary: 'Complete a direct upload: check the files and queue them as a batch',
      description: 'Checks every file in the bucket with a ranged read, as POST /process-images checks an upload: its size (the declared one, at most MAX_FILE_SIZE_MB), its type by magic bytes, its declared pixels. All or nothing: a refused file removes every file of the upload. Takes the option fields of POST /process-images as JSON and answers the same 202. With API keys, only the key that started the upload may complete it: another key gets the 404 UPLOAD_NOT_FOUND of an unknown upload. Once only: 409 UPLOAD_ALREADY_COMPLETED after that; 409 UPLOAD_INCOMPLETE while a file has not arrived (try again once it has).',
      request: { params: UploadIdParams, headers: IDEMPOTENCY_DOC.headers, body: { required: false, content: { 'application/json': { schema: CompleteUploadBody } } } },
      responses: {
        202: batchAcceptedResponse('Accepted: every file is queued', IDEMPOTENCY_DOC.replayed),
        ...problemResponses(COMPLETE_ERRORS),
      },
    },
    // POST /uploads/tus/complete is the resumable uploads' (mounted after this router): passed on before any key is claimed.
    (req, res, next) => (req.params.uploadId === 'tus' ? next() : complete(req, res, next)),
  );

  return router;
}
