import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { mimeTypeOf } from '../../pipeline';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { acceptedTypes } from '../image-sniffer';
import { json } from '../openapi';

export const Limits = z
  .object({
    maxFiles: z.number().int().positive().meta({ description: 'Files per POST /process-images request (MAX_FILES)' }),
    maxFileSizeBytes: z.number().int().positive().meta({ description: 'Bytes per file (MAX_FILE_SIZE_MB)' }),
    maxVariants: z.number().int().positive().meta({ description: 'Presets per upload in `variants` (MAX_VARIANTS)' }),
    acceptedTypes: z.array(z.string()).meta({ description: 'Media types an upload may have, recognised by content', example: ['image/jpeg', 'image/png'] }),
  })
  .meta({ id: 'Limits' });
export type Limits = z.infer<typeof Limits>;

/** The request limits clients must keep to, so they can split and check work before sending it rather than hard-code them. */
export function limitsRouter(deps: Pick<AppDeps, 'uploads' | 'maxVariants'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  const body: Limits = {
    maxFiles: deps.uploads.maxFiles,
    maxFileSizeBytes: deps.uploads.maxFileSizeBytes,
    maxVariants: deps.maxVariants,
    acceptedTypes: acceptedTypes(deps.uploads.allowSvg).map(mimeTypeOf),
  };
  route(
    { method: 'get', path: '/limits', summary: 'What one upload request may hold', responses: { 200: json(Limits, 'The server\'s limits') } },
    (_req, res) => {
      res.json(body);
    },
  );
  return router;
}
