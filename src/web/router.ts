import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/**
 * Where `npm run build:web` puts the page: its compiled script next to a copy of
 * src/web/page. Resolved from the project root, so it is the same folder whether this file
 * runs compiled (dist/web/router.js) or from source (tests, tsx).
 */
export const WEB_STATIC_DIR = path.resolve(__dirname, '../../dist/web/static');

const BATCH_PATH = /^\/b\/[0-9a-f-]{36}$/;

/**
 * The upload page at `/` and its shareable view of one batch at `/b/:batchId` (the same
 * document: the script reads the id from the URL), plus the page's static files under
 * `/web/`. The page talks to the API through its public routes only.
 */
export function webRouter({ staticDir = WEB_STATIC_DIR }: { staticDir?: string } = {}): Router {
  const router = Router();
  const index = path.join(staticDir, 'index.html');
  const sendPage: express.RequestHandler = (req, res, next) => {
    if (req.path !== '/' && !BATCH_PATH.test(req.path)) return next();
    // Built by `npm run build` (and `npm run dev`); say so rather than answering a bare 404.
    if (!existsSync(index)) return res.status(503).type('text/plain').send('The web page is not built: run `npm run build`.\n');
    res.set('Cache-Control', 'no-cache').sendFile(index);
  };
  router.get(['/', '/b/:batchId'], sendPage);
  router.use('/web', express.static(staticDir, { index: false, fallthrough: true, maxAge: 0 }));
  return router;
}
