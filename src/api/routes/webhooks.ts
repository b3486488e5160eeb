import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { requireAdminToken } from '../admin-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { ACCESS_ERRORS, json, problemResponses, READ_ERRORS } from '../openapi';
import { DeliveryList, DeliveryParams, DeliveryQuery, parseParams, parseQuery, ReplayAccepted } from '../schemas';

/** Operator routes over webhook deliveries, behind ADMIN_TOKEN like the dead letters. */
export function webhooksRouter(deps: Pick<AppDeps, 'adminAccess' | 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  router.use('/webhooks', requireAdminToken(deps.adminAccess));

  route(
    {
      method: 'get',
      path: '/webhooks/deliveries',
      summary: 'Webhook deliveries',
      description: 'Newest first, with attempts, the last status code, error and answer, and the next attempt. Deliveries that failed for good stay listed until retention (RETENTION_HOURS).',
      request: { query: DeliveryQuery },
      security: [{ adminToken: [] }],
      responses: { 200: json(DeliveryList, 'A page of deliveries'), ...problemResponses([...ACCESS_ERRORS, 'INVALID_REQUEST', 'UNAUTHORIZED', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR']) },
    },
    async (req, res) => {
      const query = parseQuery(DeliveryQuery, req.query);
      const { total, items } = await deps.imgflow.listWebhookDeliveries(query);
      const body: DeliveryList = { total, offset: query.offset, limit: query.limit, items };
      res.json(body);
    },
  );

  route(
    {
      method: 'post',
      path: '/webhooks/deliveries/{id}/replay',
      summary: 'Send a webhook again',
      description: 'Same webhook-id and body, signed with a new timestamp; a finished delivery gets a fresh set of attempts, a retry waiting for its backoff is sent now.',
      request: { params: DeliveryParams },
      security: [{ adminToken: [] }],
      responses: { 202: json(ReplayAccepted, 'Queued to be sent'), ...problemResponses([...READ_ERRORS, 'UNAUTHORIZED', 'DELIVERY_NOT_FOUND']) },
    },
    async (req, res) => {
      const { id } = parseParams(DeliveryParams, req.params);
      await deps.imgflow.replayWebhookDelivery(id);
      const body: ReplayAccepted = { id };
      res.status(202).json(body);
    },
  );

  return router;
}
