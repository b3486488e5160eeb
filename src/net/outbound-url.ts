import { classifyAddress } from './address-policy';
import { OutboundRefusedError } from './errors';

export interface OutboundPolicy {
  /** ALLOW_PRIVATE_URLS: lifts the address check (tests, intranets); scheme and credential checks stay. */
  readonly allowPrivate: boolean;
}

/**
 * Checks what can be checked without a connection: a WHATWG-parseable http(s) URL without
 * credentials, whose host, if it is an IP literal in any spelling, is a public address.
 * WHATWG URL parsing already rewrites decimal, octal and hex IPv4 spellings to dotted form.
 * Host names pass here; their addresses are checked when connecting.
 */
export function checkOutboundUrl(text: string, policy: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OutboundRefusedError('BAD_URL', `Expected an absolute http(s) URL but received ${JSON.stringify(text.slice(0, 100))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundRefusedError('BAD_SCHEME', `Expected an http or https URL but received scheme ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw new OutboundRefusedError('CREDENTIALS_IN_URL', 'Expected a URL without credentials (user:password@) but it has some');
  if (!policy.allowPrivate) {
    const host = classifyAddress(url.hostname);
    if (host && !host.public) throw refusedAddress(host.address, host.range);
  }
  return url;
}

export function refusedAddress(address: string, range: string): OutboundRefusedError {
  return new OutboundRefusedError('PRIVATE_ADDRESS', `Expected a public address but ${address} is ${range}; set ALLOW_PRIVATE_URLS=true on the server to allow it`);
}
