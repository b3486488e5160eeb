import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router, type RequestHandler } from 'express';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options';

export interface DocumentedRouter {
  readonly router: Router;
  /** Serves `handler` at the documented method and path: the one place a route is declared. */
  route(doc: RouteConfig & { method: Method }, handler: RequestHandler): void;
}

/**
 * A router whose routes are declared together with their OpenAPI entry, so no endpoint can be
 * served undocumented or documented at a path it is not served at.
 */
export function documentedRouter(registry: OpenAPIRegistry): DocumentedRouter {
  const router = Router();
  return {
    router,
    route(doc, handler) {
      registry.registerPath(doc);
      // OpenAPI writes parameters as {name}, Express as :name.
      router[doc.method](doc.path.replace(/\{(\w+)\}/g, ':$1'), handler);
    },
  };
}
