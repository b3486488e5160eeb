import type { Request, Response } from 'express';

/** What the client waits before reconnecting (the `retry:` hint), and how often a comment keeps proxies from timing the stream out. */
export const EVENT_STREAM_TIMING = { retryMs: 3000, heartbeatMs: 15_000 } as const;

export interface StreamedEvent {
  readonly id: string;
  readonly event: string;
  readonly data: unknown;
}

/**
 * Writes `events` as text/event-stream until they end or the client goes; closing the source
 * when the client disconnects. Hand-written rather than better-sse: the core already does the
 * fan-out and resumption a library would add, and what is left is a dozen lines of framing.
 * JSON.stringify never writes a line break, so each `data:` is one line.
 */
export async function sendEventStream(req: Request, res: Response, events: AsyncIterable<StreamedEvent> & { close(): void }, timing = EVENT_STREAM_TIMING): Promise<void> {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    // nginx buffers responses by default, which would hold events back.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write(`retry: ${timing.retryMs}\n\n`);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), timing.heartbeatMs);
  res.once('close', () => events.close());
  try {
    for await (const { id, event, data } of events) {
      if (res.writableEnded || res.destroyed) break;
      res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    }
  } catch (err) {
    // The status line is sent: a problem body is no longer possible. The client reconnects with its Last-Event-ID.
    req.log.warn({ err }, 'event stream ended by an error');
  } finally {
    clearInterval(heartbeat);
    events.close();
    res.end();
  }
}
