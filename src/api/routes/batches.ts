import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { callerOf } from '../api-key-auth';
import type { AppDeps } from '../deps';
import { documentedRouter } from '../documented-router';
import { EVENT_STREAM_TIMING, sendEventStream } from '../event-stream';
import { ACCESS_ERRORS, json, problemResponses, READ_ERRORS } from '../openapi';
import { BatchFileEvent, BatchList, BatchListQuery, BatchParams, BatchProgressEvent, BatchStatus, encodeBatchCursor, parseParams, parseQuery } from '../schemas';

const EVENTS_DESCRIPTION = `Server-Sent Events, each with an \`id:\` (a position in the queue's event stream) and JSON \`data:\`:

- \`snapshot\` (BatchStatus): first, exactly the GET /batches/{batchId} body;
- \`progress\` (BatchProgressEvent): best-effort, a file may finish without any;
- \`file\` (BatchFileEvent): once per file that finishes, completed or failed for good;
- \`batch\` (BatchStatus): the final batch, after which the server ends the stream. A finished batch gets \`snapshot\` and \`batch\` at once.

Reconnecting with \`Last-Event-ID\` resumes after that event, or starts with a fresh \`snapshot\` when the position is no longer kept. After a resume a \`file\` may repeat; dedupe by jobId. A comment line every ${EVENT_STREAM_TIMING.heartbeatMs / 1000} s keeps idle connections open; \`retry: ${EVENT_STREAM_TIMING.retryMs}\`. EventSource clients reconnect when the server ends a stream: close it on \`batch\`.`;

export function batchesRouter(deps: Pick<AppDeps, 'imgflow'>, registry: OpenAPIRegistry) {
  const { router, route } = documentedRouter(registry);
  route(
    {
      method: 'get',
      path: '/batches',
      summary: 'The caller\'s batches, newest first',
      description: 'Those of the API key the request carries (without API keys on the server: every batch made without one), until retention removes them. Paginated with `cursor`; a page costs the same however many batches came before.',
      request: { query: BatchListQuery },
      responses: { 200: json(BatchList, 'A page of batches'), ...problemResponses([...ACCESS_ERRORS, 'INVALID_REQUEST', 'QUEUE_UNAVAILABLE', 'INTERNAL_ERROR']) },
    },
    async (req, res) => {
      const { limit, cursor, status } = parseQuery(BatchListQuery, req.query);
      const page = await deps.imgflow.listBatches(callerOf(res), { limit, after: cursor, status });
      const body: BatchList = {
        items: page.items.map((b) => ({ ...b, statusUrl: `/batches/${b.batchId}` })),
        nextCursor: page.next === undefined ? null : encodeBatchCursor(page.next),
      };
      res.json(body);
    },
  );
  route(
    {
      method: 'get',
      path: '/batches/{batchId}',
      summary: 'Status of a batch and each of its files',
      request: { params: BatchParams },
      responses: { 200: json(BatchStatus, 'The batch'), ...problemResponses([...READ_ERRORS, 'BATCH_NOT_FOUND']) },
    },
    async (req, res) => {
      const { batchId } = parseParams(BatchParams, req.params);
      const batch: BatchStatus = await deps.imgflow.getBatch(callerOf(res), batchId);
      res.json(batch);
    },
  );
  route(
    {
      method: 'get',
      path: '/batches/{batchId}/events',
      summary: 'Live progress of a batch (Server-Sent Events)',
      description: EVENTS_DESCRIPTION,
      request: {
        params: BatchParams,
        headers: z.object({ 'last-event-id': z.string().optional().meta({ description: 'The id of the last event received: resume after it' }) }),
        query: z.object({ access_token: z.string().optional().meta({ description: 'The API key, for clients that cannot send headers (a browser\'s EventSource); accepted on this route only, and redacted from logs' }) }),
      },
      responses: {
        200: {
          description: 'The event stream, until the batch is finished',
          // OpenAPI 3.1 has no schema for an event stream's items: this is what each event's `data:` line holds.
          content: { 'text/event-stream': { schema: z.union([BatchStatus, BatchProgressEvent, BatchFileEvent]).meta({ description: 'The JSON of one event\'s data: line, by event name (see above)' }) } },
        },
        ...problemResponses([...READ_ERRORS, 'BATCH_NOT_FOUND', 'SHUTTING_DOWN']),
      },
    },
    async (req, res) => {
      const { batchId } = parseParams(BatchParams, req.params);
      // Refusals (404, 503) come from here, before the stream starts.
      const watch = await deps.imgflow.watchBatch(callerOf(res), batchId, { after: req.get('Last-Event-ID') });
      await sendEventStream(req, res, watch);
    },
  );
  return router;
}
