import type { RequestHandler } from 'express';
import type { ApiMetrics } from '../metrics/api-metrics';
import { routeLabel } from '../metrics/labels';

/** Times every request to its end (answered, or the client gone) and records it by route template. */
export function measureRequests(metrics: Pick<ApiMetrics, 'observeRequest'>): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // 'close' rather than 'finish': a request whose client hung up is counted too. By then the
    // router has set req.route (and left baseUrl at a mount path) for the last handler that ran.
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(req.method, routeLabel(req.route, req.baseUrl), res.statusCode, seconds);
    });
    next();
  };
}
