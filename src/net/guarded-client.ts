import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { classifyAddress, type AddressClass } from './address-policy';
import { OutboundRefusedError } from './errors';
import { checkOutboundUrl, refusedAddress, type OutboundPolicy } from './outbound-url';

export interface OutboundRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** For the whole exchange: every hop, headers and the kept part of the body. */
  readonly timeoutMs: number;
  /** Redirects to follow, each one checked like the first URL; 0 (the default): a 3xx is the answer. */
  readonly maxRedirects?: number;
  /** Bytes of the response body kept; the rest is not read. */
  readonly maxResponseBytes: number;
  /**
   * Called with the answer's status and headers before its body is read (after redirects); what
   * it throws is thrown instead, and the body is never read (a 404, a Content-Length too large).
   */
  readonly onResponse?: (status: number, headers: IncomingHttpHeaders) => void;
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly truncated: boolean;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

/** The one way the service makes outbound HTTP requests. */
export interface GuardedClient {
  request(url: string, init: OutboundRequest): Promise<OutboundResponse>;
  close(): Promise<void>;
}

/** How an address is judged; classifyAddress, except in tests that need one loopback address to stand for a public one. */
export type Classifier = (address: string) => AddressClass | undefined;

/**
 * A resolver that fails when any address a name resolves to is not public, so a connection to
 * a private address is never opened for a name. It cannot see IP literals (Node skips lookup
 * for them); checkConnectedAddress covers those, and every other way round it.
 */
export function publicOnlyLookup(resolve: LookupFunction = dnsLookup, classify: Classifier = classifyAddress): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', undefined);
      const list = (Array.isArray(addresses) ? addresses : [{ address: addresses, family: 0 }]) as LookupAddress[];
      for (const { address } of list) {
        const found = classify(address);
        if (!found?.public) return callback(refusedAddress(`${hostname} (${address})`, found?.range ?? 'not an IP address'), '', undefined);
      }
      const [first] = list;
      if (options.all) return callback(null, list);
      if (!first) return callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), '', undefined);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * Wraps an undici connector so that a socket is handed on only if the address it is actually
 * connected to is public: whatever a resolver said before (DNS rebinding), however the host was
 * spelled. A literal private host is refused before connecting at all.
 */
export function checkConnectedAddress(connect: buildConnector.connector, classify: Classifier = classifyAddress): buildConnector.connector {
  return (options, callback) => {
    const literal = classify(options.hostname);
    if (literal && !literal.public) return callback(refusedAddress(literal.address, literal.range), null);
    connect(options, (...args) => {
      const [err, socket] = args;
      if (err) return callback(err, null);
      const remote = socket.remoteAddress === undefined ? undefined : classify(socket.remoteAddress);
      if (remote?.public) return callback(null, socket);
      socket.destroy();
      callback(refusedAddress(`${options.hostname} (${socket.remoteAddress ?? 'no address'})`, remote?.range ?? 'unknown'), null);
    });
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The refusal behind an undici error, if the guard caused it. */
export function refusalOf(err: unknown): OutboundRefusedError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof OutboundRefusedError) return e;
  }
  return undefined;
}

/**
 * The guarded client: http(s) only, no credentials in URLs, and (unless `allowPrivate`) no
 * connection to a loopback, private, link-local, CGNAT, multicast, unspecified, reserved or
 * cloud-metadata address, checked on every connection, so on every redirect too.
 * `lookup` replaces the system resolver and `classify` the address check of names and sockets (tests;
 * the URL checks, redirects' included, always use classifyAddress).
 */
export function createGuardedClient(policy: OutboundPolicy & { readonly lookup?: LookupFunction; readonly connectTimeoutMs?: number; readonly classify?: Classifier }): GuardedClient {
  const timeout = policy.connectTimeoutMs ?? 10_000;
  const connect = policy.allowPrivate
    ? buildConnector({ timeout, ...(policy.lookup ? { lookup: policy.lookup } : {}) })
    : checkConnectedAddress(buildConnector({ timeout, lookup: publicOnlyLookup(policy.lookup, policy.classify) }), policy.classify);
  const agent = new Agent({ connect, connections: 16 });

  const once = async (url: URL, init: OutboundRequest, method: string, body: string | Buffer | undefined, signal: AbortSignal, followed: boolean): Promise<OutboundResponse> => {
    const res = await request(url, { dispatcher: agent, method, headers: { ...init.headers }, body, signal }).catch((err: unknown) => {
      throw refusalOf(err) ?? err;
    });
    const location = res.headers.location;
    if (followed && REDIRECTS.has(res.statusCode) && typeof location === 'string') {
      await res.body.dump();
      return { status: res.statusCode, headers: res.headers, body: Buffer.alloc(0), truncated: false, url: url.href };
    }
    try {
      init.onResponse?.(res.statusCode, res.headers);
    } catch (err) {
      // Not read on: the connection is closed rather than drained (a huge or endless body).
      res.body.on('error', () => undefined).destroy();
      throw err;
    }
    const kept: Buffer[] = [];
    let size = 0;
    let truncated = false;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      const room = init.maxResponseBytes - size;
      kept.push(chunk.subarray(0, room));
      size += Math.min(room, chunk.length);
      if (chunk.length > room) {
        truncated = true;
        break; // leaving the loop destroys the body: the rest is never read
      }
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(kept), truncated, url: url.href };
  };

  return {
    async request(text, init) {
      const signal = AbortSignal.timeout(init.timeoutMs);
      let url = checkOutboundUrl(text, policy);
      let method: string = init.method;
      let body = init.body;
      for (let hop = 0; ; hop++) {
        const res = await once(url, init, method, body, signal, Boolean(init.maxRedirects));
        const location = res.headers.location;
        if (!REDIRECTS.has(res.status) || typeof location !== 'string' || !init.maxRedirects) return res;
        if (hop >= init.maxRedirects) throw new OutboundRefusedError('TOO_MANY_REDIRECTS', `Expected at most ${init.maxRedirects} redirects but ${text} made more`);
        url = checkOutboundUrl(new URL(location, url).href, policy);
        if (res.status !== 307 && res.status !== 308) {
          method = 'GET';
          body = undefined;
        }
      }
    },
    close: () => agent.close(),
  };
}
