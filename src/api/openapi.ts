import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { problems, type ProblemCode } from './errors';
import { packageVersion } from '../version';
import { Problem } from './schemas';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** A JSON response entry for an OpenAPI path. */
export const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });

/** A file in a multipart body or a binary response. */
export const binary = z.string().meta({ format: 'binary' });

/** The problem responses of a route, grouped by status, each listing its codes. */
export function problemResponses(codes: readonly ProblemCode[]) {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) byStatus.set(problems[code].status, [...(byStatus.get(problems[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      { description: list.map((c) => `\`${c}\`: ${problems[c].title}`).join('; '), content: { 'application/problem+json': { schema: Problem } } },
    ]),
  );
}

/** What every route but the public ones (probes, docs, the page) can answer, on a server with API keys or a rate limit. */
export const ACCESS_ERRORS: readonly ProblemCode[] = ['UNAUTHENTICATED', 'RATE_LIMITED'];

/** Errors every route that reads by id can answer with. */
export const READ_ERRORS: readonly ProblemCode[] = [...ACCESS_ERRORS, 'INVALID_ID', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR'];

/** A registry with the components routes refer to; each router adds its own paths to it. */
export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN; required on operator routes. A server without one refuses them (401), whatever NODE_ENV says.',
  });
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`imgf_…`), when the server has API_KEYS or API_KEYS_FILE: every route but /healthz, /readyz, /metrics (METRICS_TOKEN), /docs, /openapi.json and the web page needs one (401 UNAUTHENTICATED). Batches and everything under them belong to the key that made them; another key gets 404.',
  });
  registry.registerComponent('securitySchemes', 'apiKeyHeader', { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key in its own header, e.g. beside an admin token in Authorization.' });
  registry.registerComponent('securitySchemes', 'adminBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'Any user name with ADMIN_TOKEN as the password; accepted by the queue dashboard, for browsers.',
  });
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN; required on GET /metrics when the server sets one, otherwise the route is open.',
  });
  return registry;
}

/** The OpenAPI document, generated from the zod schemas that parse requests and type the responses. */
export function buildOpenApiDocument(registry: OpenAPIRegistry): OpenApiDocument {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'imgflow',
      version: packageVersion(),
      description: 'Asynchronous image processing: upload, get 202 at once, poll the batch. Every error is application/problem+json with a stable `code`.',
    },
    // Optional ({}): a server without API keys needs none.
    security: [{ apiKey: [] }, { apiKeyHeader: [] }, {}],
  });
}
