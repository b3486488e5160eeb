import type { Request, RequestHandler, Response } from 'express';

/** Runs an Express middleware (a body parser) as a step of a handler, so nothing is read before the checks that come first. */
export const runMiddleware = (middleware: RequestHandler, req: Request, res: Response) =>
  new Promise<void>((resolve, reject) => {
    void middleware(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
