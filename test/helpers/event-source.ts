import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { EventSource } from 'eventsource';

export const BATCH_EVENT_TYPES = ['snapshot', 'progress', 'file', 'batch'] as const;

export interface ReceivedEvent {
  readonly type: (typeof BATCH_EVENT_TYPES)[number];
  readonly id: string;
  readonly data: unknown;
}

export interface WatchedBatch {
  readonly events: ReceivedEvent[];
  /** The first event of `type` (bounded: a hang fails the test). */
  first(type: ReceivedEvent['type'], timeoutMs?: number): Promise<ReceivedEvent>;
  /**
   * Every event, once the server ended the stream after `batch`. EventSource reports the end
   * as an error and would reconnect; the stream is closed instead. Rejects on an error before `batch`.
   */
  ended(timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): void;
}

/** A real EventSource client on a batch's event stream; `lastEventId` is sent on the first request too, through a custom fetch. */
export function watchBatchEvents(url: string, options: { lastEventId?: string } = {}): WatchedBatch {
  const { lastEventId } = options;
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } }),
  });
  const events: ReceivedEvent[] = [];
  const waiters: Array<() => void> = [];
  let outcome: { ok: true } | { ok: false; error: Error } | undefined;
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  for (const type of BATCH_EVENT_TYPES) {
    source.addEventListener(type, (e) => {
      events.push({ type, id: e.lastEventId, data: JSON.parse(e.data) as unknown });
      wake();
    });
  }
  source.addEventListener('error', (e) => {
    outcome ??= events.at(-1)?.type === 'batch' ? { ok: true } : { ok: false, error: new Error(`stream error before batch: ${e.message ?? ''} (code ${e.code ?? '–'})`) };
    source.close();
    wake();
  });
  const until = async <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(events.map((e) => e.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return {
    events,
    first: (type, timeoutMs = 20_000) =>
      until(() => {
        const found = events.find((e) => e.type === type);
        if (found) return found;
        if (outcome && !outcome.ok) throw outcome.error;
        return undefined;
      }, timeoutMs, `a ${type} event`),
    ended: (timeoutMs = 60_000) =>
      until(() => {
        if (!outcome) return undefined;
        if (!outcome.ok) throw outcome.error;
        return events;
      }, timeoutMs, 'the end of the stream'),
    close: () => source.close(),
  };
}

/** TCP connections that process `pid` has open to `port` (its own sockets, matched through /proc). */
export function connectionsTo(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    const lines = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      // 01: established
      if (fields[2]?.endsWith(`:${hexPort}`) && fields[3] === '01' && inodes.has(fields[9] ?? '')) count++;
    }
  }
  return count;
}
