import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { apiKeyAuth, redactAccessToken } from './api-key-auth';
import { corsFor } from './cors';
import type { AppDeps } from './deps';
import { createErrorHandler, notFound } from './error-handler';
import { measureRequests } from './measure-requests';
import type * as QueueDashboard from './queue-dashboard';
import { buildOpenApiDocument, createOpenApiRegistry } from './openapi';
import { batchesRouter } from './routes/batches';
import { deadLettersRouter } from './routes/dead-letters';
import { directUploadsRouter } from './routes/direct-uploads';
import { healthRouter } from './routes/health';
import { jobsRouter } from './routes/jobs';
import { limitsRouter } from './routes/limits';
import { metricsRouter } from './routes/metrics';
import { presetsRouter } from './routes/presets';
import { resumableUploadsRouter, tusRouter } from './routes/resumable-uploads';
import { uploadsRouter } from './routes/uploads';
import { urlsRouter } from './routes/urls';
import { webhooksRouter } from './routes/webhooks';
import { webRouter } from '../web/router';

const REQUEST_ID = /^[\w.-]{1,64}$/;

/** Builds the Express app; never listens, so tests drive it through supertest. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Client-supplied names are echoed in JSON; \u003c-escaping <, > and & keeps them inert even
  // for a client that sniffs a response as HTML.
  app.set('json escape', true);

  app.use(measureRequests(deps.metrics));
  app.use(
    pinoHttp({
      logger: deps.logger,
      // Reuse a well-formed id from a proxy; otherwise make one. Either way the client sees it.
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      serializers: { req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactAccessToken(req.url) }) },
    }),
  );
  const registry = createOpenApiRegistry();
  // Before helmet: the dashboard sets its own CSP for its page.
  // Loaded only with ADMIN_TOKEN set: bull-board is a tenth of the API's heap otherwise carried for nothing.
  if (deps.dashboard) app.use((require('./queue-dashboard') as typeof QueueDashboard).queueDashboard(deps.dashboard, registry));
  // Swagger UI's bundle needs inline styles; everything else keeps helmet's defaults.
  // upgrade-insecure-requests off: served over plain HTTP on a LAN address (docker compose), it
  // made browsers ask for the page's script, styles and API calls over https, which is not there.
  // blob: images: with an API key the page fetches previews with its header and shows them from blob URLs.
  app.use(helmet({ contentSecurityPolicy: { directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:', 'blob:'], 'upgrade-insecure-requests': null } } }));
  app.use(corsFor(deps.corsOrigin));
  // Before every router, so no route can be reached without a key (when the server has keys) and no body is read first.
  app.use(apiKeyAuth(deps.apiKeys));
  // After the key (it counts per key), before any body is read.
  app.use(deps.rateLimit);
  // Before the JSON parser below: POST /process-urls parses its own (larger) JSON body, after its idempotency check.
  app.use(urlsRouter(deps, registry));
  // Before it too: a direct upload's file list is sized by MAX_FILES.
  app.use(directUploadsRouter(deps, registry));
  // tus reads its request bodies itself.
  app.use(tusRouter(deps, registry));
  // Its completion reads its JSON body itself, after its idempotency check.
  app.use(resumableUploadsRouter(deps, registry));
  // Other routes get this small limit rather than the default 100 KB.
  app.use(express.json({ limit: '16kb' }));

  app.use(healthRouter(deps, registry));
  app.use(uploadsRouter(deps, registry));
  app.use(batchesRouter(deps, registry));
  app.use(jobsRouter(deps, registry));
  app.use(presetsRouter(deps, registry));
  app.use(limitsRouter(deps, registry));
  app.use(deadLettersRouter(deps, registry));
  app.use(webhooksRouter(deps, registry));
  app.use(metricsRouter(deps, registry));

  const document = buildOpenApiDocument(registry);
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(document, { customSiteTitle: 'imgflow API' }));
  // The upload page: a client of the routes above, never a shortcut into them.
  app.use(webRouter());

  app.use(notFound);
  app.use(createErrorHandler(deps.uploads, deps.metrics.refuse));
  return app;
}
