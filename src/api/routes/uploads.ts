import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Request } from 'express';
import { z } from 'zod';
import type { Imgflow } from '../../core/imgflow';
import { batchAccepted, batchAcceptedResponse } from '../batch-accepted';
import { submitterOf } from '../api-key-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { HttpError, type ProblemCode } from '../errors';
import { IDEMPOTENCY_DOC, IDEMPOTENCY_KEY_HEADER, idempotent } from '../idempotent';
import { describeAcceptedTypes } from '../../core/accepted-types';
import { createUploadReceiver, discardUploads, type StoredUpload, type UploadReceiver } from '../multipart';
import { ACCESS_ERRORS, binary, json, problemResponses } from '../openapi';
import { parseUploadFields, UPLOAD_FIELDS_ENCODING, UploadAccepted, UploadFields } from '../schemas';

const UPLOAD_ERRORS: ProblemCode[] = [
  'NO_FILES', 'UNEXPECTED_FIELD', 'MALFORMED_MULTIPART', 'TOO_MANY_FILES', 'FILE_TOO_LARGE', 'TOO_MANY_PARTS', 'PAYLOAD_TOO_LARGE',
  'FIELD_TOO_LARGE', 'INVALID_OPTIONS', 'UNKNOWN_PRESET', 'TOO_MANY_VARIANTS', 'OUTPUT_TOO_LARGE', 'PRESETS_ONLY',
  'INVALID_SCHEDULE', 'INVALID_PRIORITY', 'INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_IN_PROGRESS', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_MULTIPART', 'TOO_MANY_PIXELS', 'REQUEST_ABORTED', 'QUEUE_UNAVAILABLE', 'STORAGE_UNAVAILABLE', 'INTERNAL_ERROR',
  'QUOTA_EXCEEDED', ...ACCESS_ERRORS,
];

// The app always has an idempotency store and metrics (AppDeps); a router built alone for its docs needs neither.
type UploadDeps = Pick<AppDeps, 'uploads' | 'uploadStore' | 'inFlight'> & Partial<Pick<AppDeps, 'idempotency' | 'metrics'>> & { readonly imgflow: Pick<Imgflow, 'submitBatch' | 'checkQueuedFiles'> };

/** How many files a client says its upload holds, so MAX_QUEUED_FILES_PER_KEY can refuse it before the body is read. */
export const FILE_COUNT_HEADER = 'Imgflow-File-Count';

/** The count FILE_COUNT_HEADER declares; undefined without one (a malformed one counts as none: the files are counted once received). */
function declaredFileCount(req: Request, maxFiles: number): number | undefined {
  const value = req.get(FILE_COUNT_HEADER);
  const count = Number(value);
  return value !== undefined && /^\d{1,4}$/.test(value) && count >= 1 && count <= maxFiles ? count : undefined;
}

/** The request headers of both upload routes. */
const UPLOAD_HEADERS = z.object({
  [FILE_COUNT_HEADER]: z.coerce.number().int().min(1).optional().meta({
    description: 'How many files the body holds. With MAX_QUEUED_FILES_PER_KEY set, an upload that would go over it is refused (429 QUOTA_EXCEEDED) before its body is read; without the header the files are counted once received (and removed if refused).',
  }),
  [IDEMPOTENCY_KEY_HEADER]: IDEMPOTENCY_DOC.key,
});

/**
 * Receives and enqueues one request's files as a batch. If the client went away meanwhile, or
 * enqueueing fails, the stored files are removed: nothing is orphaned and no half batch exists.
 * Tracked as in flight, so a shutdown waits for it to finish either way.
 */
function acceptBatch(deps: UploadDeps, receive: UploadReceiver, req: Request, res: Parameters<UploadReceiver>[1], declaredFiles: number | undefined) {
  return deps.inFlight.track(async () => {
    // Before the body: an upload over its sender's quota is refused without storing a byte.
    if (declaredFiles !== undefined) await deps.imgflow.checkQueuedFiles(submitterOf(req, res), declaredFiles);
    const uploads: StoredUpload[] = await receive(req, res);
    try {
      if (req.socket.destroyed) throw new HttpError('REQUEST_ABORTED', 'The client disconnected before the upload was accepted');
      const { request, schedule } = parseUploadFields(req.body);
      const accepted = await deps.imgflow.submitBatch(submitterOf(req, res), uploads, request, schedule);
      deps.metrics?.acceptFiles(uploads.map((u) => u.size));
      return accepted;
    } catch (err) {
      await discardUploads(deps.uploadStore, uploads);
      throw err;
    }
  });
}

export function uploadsRouter(deps: UploadDeps, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const { maxFiles, maxFileSizeBytes, allowSvg } = deps.uploads;
  const receiveImages = createUploadReceiver('images', maxFiles, deps.uploads, deps.uploadStore, deps.inFlight);
  const receiveMedia = createUploadReceiver('media', 1, deps.uploads, deps.uploadStore, deps.inFlight);
  const accepted = `${describeAcceptedTypes(allowSvg)}, recognised by content (magic bytes), not by name or declared type.`;

  route(
    {
      method: 'post',
      path: '/process-images',
      summary: 'Upload a batch of images',
      description: `Stores 1–${maxFiles} images of at most ${maxFileSizeBytes} bytes each and queues one job per file, all or nothing. ${accepted} Text fields \`preset\`, \`variants\` and \`options\` (before or after the files) choose the outputs; without them each file gets the \`default\` preset. \`delayMs\` or \`processAt\` schedule the batch, \`priority\` orders it among others. Answers at once; processing happens in the background. Follow the batch at \`statusUrl\` (also in \`Location\`).`,
      request: { headers: UPLOAD_HEADERS, body: { required: true, content: { 'multipart/form-data': { schema: UploadFields.extend({ images: z.array(binary).min(1).max(maxFiles) }), encoding: UPLOAD_FIELDS_ENCODING } } } },
      responses: {
        202: batchAcceptedResponse('Accepted: every file is queued', IDEMPOTENCY_DOC.replayed),
        ...problemResponses(UPLOAD_ERRORS),
      },
    },
    idempotent(deps.idempotency, async (req, res) => batchAccepted(await acceptBatch(deps, receiveImages, req, res, declaredFileCount(req, maxFiles)))),
  );

  route(
    {
      method: 'post',
      path: '/upload',
      summary: 'Upload one image',
      description: `Single-file form for simple clients: field \`media\`. ${accepted}`,
      request: { headers: UPLOAD_HEADERS, body: { required: true, content: { 'multipart/form-data': { schema: UploadFields.extend({ media: binary }), encoding: UPLOAD_FIELDS_ENCODING } } } },
      responses: { 202: { ...json(UploadAccepted, 'Accepted: the file is queued'), headers: IDEMPOTENCY_DOC.replayed }, ...problemResponses(UPLOAD_ERRORS) },
    },
    idempotent(deps.idempotency, async (req, res) => {
      const { batchId, files } = await acceptBatch(deps, receiveMedia, req, res, 1);
      const [file] = files;
      if (!file) throw new Error('an accepted upload has one file');
      const body: UploadAccepted = { jobId: file.jobId, batchId, statusUrl: `/jobs/${file.jobId}` };
      return { status: 202, location: body.statusUrl, body };
    }),
  );

  return router;
}
