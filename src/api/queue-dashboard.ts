import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { Router } from 'express';
import helmet from 'helmet';
import { requireAdminLogin } from './admin-auth';
import { problemResponses } from './openapi';

export const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  readonly token: string;
  readonly queues: readonly Queue[];
  /** ADMIN_READ_ONLY: bull-board hides its actions and its API refuses them (405). */
  readonly readOnly: boolean;
}

/**
 * bull-board over every queue at /admin/queues, for operators only. It brings its own page,
 * so it gets its own CSP: the app's forbids the Google Fonts stylesheet its page links and the
 * inline style of its loading screen; nothing else on the site is relaxed.
 */
export function queueDashboard(options: DashboardOptions, registry: OpenAPIRegistry): Router {
  const serverAdapter = new ExpressAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'imgflow queues' } },
  });
  // Documented here because bull-board's own app serves the page, outside documentedRouter.
  registry.registerPath({
    method: 'get',
    path: DASHBOARD_PATH,
    summary: 'Queue dashboard (bull-board) for operators',
    description:
      'An HTML page over every queue (images, dead letters, webhooks): counts, jobs, their data and errors, and actions such as retry, unless the server sets `ADMIN_READ_ONLY=true`. Its page and its JSON API under `/admin/queues/api` need the admin token, as a bearer token or as the basic-auth password with any user name (what a browser asks for). Not served (404) when the server has no `ADMIN_TOKEN`.',
    security: [{ adminToken: [] }, { adminBasic: [] }],
    responses: {
      200: { description: 'The dashboard page', content: { 'text/html': { schema: { type: 'string' } } } },
      ...problemResponses(['UNAUTHORIZED']),
    },
  });
  const router = Router();
  router.use(
    DASHBOARD_PATH,
    requireAdminLogin(options.token),
    helmet({
      contentSecurityPolicy: {
        directives: {
          'style-src': ["'self'", "'unsafe-inline'", 'https://fonts.googleapis.com'],
          'font-src': ["'self'", 'https://fonts.gstatic.com', 'data:'],
          'upgrade-insecure-requests': null,
        },
      },
    }),
    serverAdapter.getRouter(),
  );
  return router;
}
