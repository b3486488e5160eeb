import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { problems, type ProblemCode } from './errors';
import { describeAcceptedTypes } from './image-sniffer';
import * as s from './schemas';

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });

function problemResponses(codes: readonly ProblemCode[]) {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) byStatus.set(problems[code].status, [...(byStatus.get(problems[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      { description: list.map((c) => `\`${c}\`: ${problems[c].title}`).join('; '), content: { 'application/problem+json': { schema: s.Problem } } },
    ]),
  );
}

const UPLOAD_ERRORS: ProblemCode[] = [
  'NO_FILES', 'UNEXPECTED_FIELD', 'MALFORMED_MULTIPART', 'TOO_MANY_FILES', 'FILE_TOO_LARGE', 'TOO_MANY_PARTS', 'PAYLOAD_TOO_LARGE',
  'FIELD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_MULTIPART', 'TOO_MANY_PIXELS', 'REQUEST_ABORTED', 'QUEUE_UNAVAILABLE',
  'INTERNAL_ERROR',
];
const READ_ERRORS: ProblemCode[] = ['INVALID_ID', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR'];

/** The OpenAPI document, generated from the zod schemas that parse requests and type the responses. */
export function buildOpenApiDocument(limits: { maxFiles: number; maxFileSizeBytes: number; allowSvg: boolean }): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN; required on operator routes when the server sets one. A production server without one refuses them (401).',
  });
  const binary = z.string().meta({ format: 'binary' });
  const accepted = `${describeAcceptedTypes(limits.allowSvg)}, recognised by content (magic bytes), not by name or declared type.`;

  registry.registerPath({
    method: 'post',
    path: '/process-images',
    summary: 'Upload a batch of images',
    description: `Stores 1–${limits.maxFiles} images of at most ${limits.maxFileSizeBytes} bytes each and queues one job per file, all or nothing. ${accepted} Answers at once; processing happens in the background. Follow the batch at \`statusUrl\` (also in \`Location\`).`,
    request: {
      body: {
        required: true,
        content: { 'multipart/form-data': { schema: z.object({ images: z.array(binary).min(1).max(limits.maxFiles) }) } },
      },
    },
    responses: {
      202: { ...json(s.BatchAccepted, 'Accepted: every file is queued'), headers: { Location: { description: 'The batch status URL', schema: { type: 'string' } } } },
      ...problemResponses(UPLOAD_ERRORS),
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/upload',
    summary: 'Upload one image',
    description: `Single-file form for simple clients: field \`media\`. ${accepted}`,
    request: { body: { required: true, content: { 'multipart/form-data': { schema: z.object({ media: binary }) } } } },
    responses: { 202: json(s.UploadAccepted, 'Accepted: the file is queued'), ...problemResponses(UPLOAD_ERRORS) },
  });

  registry.registerPath({
    method: 'get',
    path: '/batches/{batchId}',
    summary: 'Status of a batch and each of its files',
    request: { params: s.BatchParams },
    responses: { 200: json(s.BatchStatus, 'The batch'), ...problemResponses([...READ_ERRORS, 'BATCH_NOT_FOUND']) },
  });

  registry.registerPath({
    method: 'get',
    path: '/jobs/{jobId}',
    summary: 'Status of one job (one file)',
    request: { params: s.JobParams },
    responses: { 200: json(s.JobStatus, 'The job'), ...problemResponses([...READ_ERRORS, 'JOB_NOT_FOUND']) },
  });

  registry.registerPath({
    method: 'get',
    path: '/jobs/{jobId}/result',
    summary: 'Download the processed image',
    request: { params: s.JobParams },
    responses: {
      200: { description: 'The processed image', content: { 'image/jpeg': { schema: binary }, 'image/png': { schema: binary }, 'image/webp': { schema: binary }, 'image/avif': { schema: binary } } },
      ...problemResponses([...READ_ERRORS, 'JOB_NOT_FOUND', 'RESULT_NOT_READY', 'RESULT_EXPIRED']),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/dead-letters',
    summary: 'Jobs that failed for good',
    description: 'Each entry keeps the failure reason and attempt count. Oldest first.',
    request: { query: s.DeadLetterQuery },
    security: [{ adminToken: [] }],
    responses: { 200: json(s.DeadLetterList, 'A page of dead letters'), ...problemResponses(['INVALID_REQUEST', 'UNAUTHORIZED', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR']) },
  });

  registry.registerPath({
    method: 'post',
    path: '/dead-letters/{id}/retry',
    summary: 'Put a dead letter back on the queue',
    description: 'The job runs again under its original id, with a fresh set of attempts.',
    request: { params: s.DeadLetterParams },
    security: [{ adminToken: [] }],
    responses: { 202: json(s.RetryAccepted, 'Queued again'), ...problemResponses([...READ_ERRORS, 'UNAUTHORIZED', 'DEAD_LETTER_NOT_FOUND']) },
  });

  registry.registerPath({ method: 'get', path: '/healthz', summary: 'Liveness: the process is up', responses: { 200: json(s.Health, 'Up') } });
  registry.registerPath({
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Redis is reachable',
    responses: { 200: json(s.Health, 'Ready'), ...problemResponses(['QUEUE_UNAVAILABLE']) },
  });

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'imgflow',
      version: '1.0.0',
      description: 'Asynchronous image processing: upload, get 202 at once, poll the batch. Every error is application/problem+json with a stable `code`.',
    },
  });
}
