import { connect } from 'node:net';

/** What came back on a raw connection: the response (if any) and how the connection ended. */
export interface RawOutcome {
  readonly status?: number;
  readonly headers: Record<string, string>;
  readonly body?: any;
  /** Body bytes the client managed to hand to the socket before it was closed. */
  readonly bytesWritten: number;
  /** 'closed': the server closed the connection; 'open': it was still open when the wait ended. */
  readonly connection: 'closed' | 'open';
}

export interface RawRequest {
  readonly port: number;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Written one by one, each after the previous was flushed and `pauseMs` passed, so the server reads them as separate chunks. */
  readonly chunks: Iterable<Buffer>;
  readonly pauseMs?: number;
  /** How long the whole exchange may take before the client gives up: a liveness bound, not a speed check. */
  readonly waitMs: number;
}

/**
 * Sends an HTTP/1.1 request byte by byte over node:net, for bodies no HTTP client would send:
 * cut chunks, lying or missing Content-Length, a body that stops half way without ending.
 * Stops writing as soon as the server answers or closes.
 */
export function rawRequest(req: RawRequest): Promise<RawOutcome> {
  const socket = connect(req.port, '127.0.0.1');
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  let bytesWritten = 0;
  let closed = false;
  let answered = false;
  let onAnswer = () => {};
  const answer = new Promise<void>((resolve) => (onAnswer = resolve));
  socket.on('data', (d: Buffer) => {
    received.push(d);
    answered = true;
    onAnswer();
  });
  socket.on('error', () => undefined); // EPIPE / ECONNRESET once the server stops reading: expected here
  const gone = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void gone.then(() => (closed = true));

  const write = (data: Buffer) => new Promise<void>((resolve) => socket.write(data, () => resolve()));
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  return (async () => {
    const deadline = pause(req.waitMs);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const head = [`POST ${req.path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    await write(Buffer.from(head, 'latin1'));
    let timedOut = false;
    void deadline.then(() => (timedOut = true));
    for (const chunk of req.chunks) {
      if (closed || answered || timedOut) break;
      // A server that stopped reading never calls back: its answer, its close or the deadline ends the wait.
      await Promise.race([write(chunk).then(() => (bytesWritten += socket.destroyed ? 0 : chunk.length)), answer, gone, deadline]);
      if (req.pauseMs) await pause(req.pauseMs);
    }
    await Promise.race([gone, answer, deadline]);
    // Give a response that is still arriving a moment to complete before parsing it.
    if (answered && !closed) await Promise.race([gone, pause(1000)]);
    socket.destroy();
    return { ...parseResponse(Buffer.concat(received)), bytesWritten, connection: closed ? 'closed' : 'open' };
  })();
}

function parseResponse(raw: Buffer): Pick<RawOutcome, 'status' | 'headers' | 'body'> {
  const text = raw.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || end === -1) return { headers: {} };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const rest = text.slice(end + 4);
  let body: unknown;
  try {
    body = rest ? JSON.parse(rest) : undefined;
  } catch {
    body = rest;
  }
  return { status: Number(statusLine?.split(' ')[1]), headers, body };
}
