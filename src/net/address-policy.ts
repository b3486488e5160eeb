import ipaddr from 'ipaddr.js';

/** Addresses that answer cloud instance-metadata requests: named apart, though their ranges are refused anyway. */
const CLOUD_METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);

// IANA's global unicast space; anything outside it (including ::/96, the deprecated
// IPv4-compatible form ipaddr.js calls unicast) is not an address the public internet routes.
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

export type AddressClass =
  | { readonly public: true; readonly address: string }
  | { readonly public: false; readonly address: string; readonly range: string };

/**
 * Classifies an IP address (any spelling ipaddr.js parses: dotted, decimal, octal, hex,
 * IPv6, IPv4-mapped IPv6, zone ids) as public unicast or the special range it is in.
 * Returns undefined for a string that is not an IP address (a host name).
 */
export function classifyAddress(text: string): AddressClass | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return undefined;
  // process() turns ::ffff:a.b.c.d into a.b.c.d, so a mapped private address is judged as IPv4.
  const addr = ipaddr.process(bare);
  const address = addr.toString();
  const unzoned = address.replace(/%.*$/, '');
  if (CLOUD_METADATA.has(unzoned)) return { public: false, address, range: 'cloudMetadata' };
  const range = addr.range();
  if (range !== 'unicast') return { public: false, address, range };
  if (addr.kind() === 'ipv6' && !(addr as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) return { public: false, address, range: 'reserved' };
  return { public: true, address };
}
