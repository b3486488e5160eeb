import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { IMAGE_TYPES, mimeTypeOf } from '../../pipeline';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { json } from '../openapi';
import { UploadLimitsBody } from '../schemas';

/** GET /limits: the upload limits, for clients (the web page, the CLI) that check before sending. */
export function limitsRouter(deps: Pick<AppDeps, 'uploads'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const { maxFiles, maxFileSizeBytes, maxInputPixels, allowSvg } = deps.uploads;
  const body: UploadLimitsBody = {
    maxFiles,
    maxFileSizeBytes,
    maxInputPixels,
    acceptedTypes: IMAGE_TYPES.filter((type) => allowSvg || type !== 'svg').map(mimeTypeOf),
  };
  route({ method: 'get', path: '/limits', summary: 'Upload limits: files per request, bytes per file, pixels, types', responses: { 200: json(UploadLimitsBody, 'The limits') } }, (_req, res) => {
    res.json(body);
  });
  return router;
}
