import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Request } from 'express';
import { z } from 'zod';
import type { Imgflow, IncomingImage } from '../../core/imgflow';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { HttpError, type ProblemCode } from '../errors';
import { readDeclaredSize } from '../image-dimensions';
import { describeAcceptedTypes } from '../image-sniffer';
import { createUploadReceiver, discardUploads, type StoredUpload, type UploadReceiver } from '../multipart';
import { binary, json, problemResponses } from '../openapi';
import { BatchAccepted, parseUploadFields, UPLOAD_FIELDS_ENCODING, UploadAccepted, UploadFields } from '../schemas';

const UPLOAD_ERRORS: ProblemCode[] = [
  'NO_FILES', 'UNEXPECTED_FIELD', 'MALFORMED_MULTIPART', 'TOO_MANY_FILES', 'FILE_TOO_LARGE', 'TOO_MANY_PARTS', 'PAYLOAD_TOO_LARGE',
  'FIELD_TOO_LARGE', 'INVALID_OPTIONS', 'UNKNOWN_PRESET', 'TOO_MANY_VARIANTS', 'OUTPUT_TOO_LARGE', 'PRESETS_ONLY',
  'UNSUPPORTED_MEDIA_TYPE', 'NOT_MULTIPART', 'TOO_MANY_PIXELS', 'REQUEST_ABORTED', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR',
];

/** With output settings asked for, each image's declared size, for the output-size limit; nothing to read otherwise. */
async function withDeclaredSizes(uploads: readonly StoredUpload[], asked: boolean): Promise<IncomingImage[]> {
  if (!asked) return [...uploads];
  return Promise.all(
    uploads.map(async (upload) => {
      const declared = await readDeclaredSize(upload.path, upload.size);
      // image-size reports the stored orientation; 5–8 are stored on their side.
      const upright = declared && (declared.orientation ?? 1) >= 5 ? { width: declared.height, height: declared.width } : declared;
      return { ...upload, declaredSize: upright && { width: upright.width, height: upright.height } };
    }),
  );
}

type UploadDeps = Pick<AppDeps, 'uploads' | 'inFlight'> & { readonly imgflow: Pick<Imgflow, 'submitBatch'> };

/**
 * Receives and enqueues one request's files as a batch. If the client went away meanwhile, or
 * enqueueing fails, the stored files are removed: nothing is orphaned and no half batch exists.
 * Tracked as in flight, so a shutdown waits for it to finish either way.
 */
function acceptBatch(deps: UploadDeps, receive: UploadReceiver, req: Request, res: Parameters<UploadReceiver>[1]) {
  return deps.inFlight.track(async () => {
    const uploads: StoredUpload[] = await receive(req, res);
    try {
      if (req.socket.destroyed) throw new HttpError('REQUEST_ABORTED', 'The client disconnected before the upload was accepted');
      const request = parseUploadFields(req.body);
      const images = await withDeclaredSizes(uploads, Object.keys(request).length > 0);
      return await deps.imgflow.submitBatch(images, request);
    } catch (err) {
      await discardUploads(uploads);
      throw err;
    }
  });
}

export function uploadsRouter(deps: UploadDeps, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const { maxFiles, maxFileSizeBytes, allowSvg } = deps.uploads;
  const receiveImages = createUploadReceiver('images', maxFiles, deps.uploads, deps.inFlight);
  const receiveMedia = createUploadReceiver('media', 1, deps.uploads, deps.inFlight);
  const accepted = `${describeAcceptedTypes(allowSvg)}, recognised by content (magic bytes), not by name or declared type.`;

  route(
    {
      method: 'post',
      path: '/process-images',
      summary: 'Upload a batch of images',
      description: `Stores 1–${maxFiles} images of at most ${maxFileSizeBytes} bytes each and queues one job per file, all or nothing. ${accepted} Text fields \`preset\`, \`variants\` and \`options\` (before or after the files) choose the outputs; without them each file gets the \`default\` preset. Answers at once; processing happens in the background. Follow the batch at \`statusUrl\` (also in \`Location\`).`,
      request: { body: { required: true, content: { 'multipart/form-data': { schema: UploadFields.extend({ images: z.array(binary).min(1).max(maxFiles) }), encoding: UPLOAD_FIELDS_ENCODING } } } },
      responses: {
        202: { ...json(BatchAccepted, 'Accepted: every file is queued'), headers: { Location: { description: 'The batch status URL', schema: { type: 'string' } } } },
        ...problemResponses(UPLOAD_ERRORS),
      },
    },
    async (req, res) => {
      const { batchId, files } = await acceptBatch(deps, receiveImages, req, res);
      const body: BatchAccepted = {
        batchId,
        statusUrl: `/batches/${batchId}`,
        totalFiles: files.length,
        jobs: files.map((f) => ({ ...f, statusUrl: `/jobs/${f.jobId}` })),
      };
      res.status(202).location(body.statusUrl).json(body);
    },
  );

  route(
    {
      method: 'post',
      path: '/upload',
      summary: 'Upload one image',
      description: `Single-file form for simple clients: field \`media\`. ${accepted}`,
      request: { body: { required: true, content: { 'multipart/form-data': { schema: UploadFields.extend({ media: binary }), encoding: UPLOAD_FIELDS_ENCODING } } } },
      responses: { 202: json(UploadAccepted, 'Accepted: the file is queued'), ...problemResponses(UPLOAD_ERRORS) },
    },
    async (req, res) => {
      const { batchId, files } = await acceptBatch(deps, receiveMedia, req, res);
      const [file] = files;
      if (!file) throw new Error('an accepted upload has one file');
      const body: UploadAccepted = { jobId: file.jobId, batchId, statusUrl: `/jobs/${file.jobId}` };
      res.status(202).location(body.statusUrl).json(body);
    },
  );

  return router;
}
