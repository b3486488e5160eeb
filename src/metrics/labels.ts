/** The route label of a request: Express's route template, never the raw URL (ids would make a series per request). */
export function routeLabel(route: unknown, baseUrl: string): string {
  if (typeof route === 'object' && route !== null && 'path' in route && typeof route.path === 'string') return `${baseUrl}${route.path}`;
  // A mounted app without routes of its own (Swagger UI under /docs): its mount path stands for all of it.
  if (baseUrl !== '') return `${baseUrl}/*`;
  return 'unmatched';
}

const CODE_PREFIX = /^([A-Z][A-Z0-9_]{2,63}):/;

/**
 * The stable code at the start of a job's failure reason ("TOO_MANY_PIXELS: …", as the
 * processor writes them), or UNKNOWN for a reason from elsewhere (a stalled job, a library).
 */
export function failureCode(reason: string): string {
  return CODE_PREFIX.exec(reason)?.[1] ?? 'UNKNOWN';
}
