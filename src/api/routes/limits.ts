import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { mimeTypeOf } from '../../pipeline';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { acceptedTypes } from '../../core/accepted-types';
import { ACCESS_ERRORS, json, problemResponses } from '../openapi';
import { UploadLimitsBody } from '../schemas';

/** GET /limits: the upload limits, for clients (the web page, the CLI) that split and check work before sending it. */
export function limitsRouter(deps: Pick<AppDeps, 'uploads' | 'maxVariants'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const { maxFiles, maxFileSizeBytes, maxInputPixels, allowSvg } = deps.uploads;
  const body: UploadLimitsBody = { maxFiles, maxFileSizeBytes, maxInputPixels, maxVariants: deps.maxVariants, acceptedTypes: acceptedTypes(allowSvg).map(mimeTypeOf) };
  route({ method: 'get', path: '/limits', summary: 'Upload limits: files per request, bytes per file, pixels, variants, types', responses: { 200: json(UploadLimitsBody, 'The limits'), ...problemResponses(ACCESS_ERRORS) } }, (_req, res) => {
    res.json(body);
  });
  return router;
}
