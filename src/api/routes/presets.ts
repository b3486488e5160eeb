import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { ACCESS_ERRORS, json, problemResponses } from '../openapi';
import { Presets } from '../schemas';

export function presetsRouter(deps: Pick<AppDeps, 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  route(
    {
      method: 'get',
      path: '/presets',
      summary: 'Every preset and its settings',
      description: 'The names `preset` and `variants` of an upload accept: the built-in ones (default, thumbnail, web, avif, original) and those of PRESETS_FILE.',
      responses: { 200: json(Presets, 'Presets by name'), ...problemResponses(ACCESS_ERRORS) },
    },
    (_req, res) => {
      const body: Presets = deps.imgflow.listPresets();
      res.json(body);
    },
  );
  return router;
}
