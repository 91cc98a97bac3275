import { isIP } from 'node:net';

/**
 * The unit a client is throttled by. An IPv4 address is one client; an IPv6 client is its /64
 * network, because a single subscriber is usually handed a whole /64 and can hop between its 2^64
 * addresses at will (Nextcloud's CVE-2021-22915). IPv4-mapped IPv6 (`::ffff:192.0.2.7`, as a
 * dual-stack socket reports IPv4 peers) is the IPv4 address it carries.
 *
 * Returns `v4:a.b.c.d`, `v6:xxxx:xxxx:xxxx:xxxx::/64`, or `unparseable` for anything that is not an
 * IP address: all such input shares one bucket, so garbage can never mint fresh counters.
 */
export function ipThrottleGroup(ip: string): string {
  let address = ip.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);

  const version = isIP(address);
  if (version === 4) return `v4:${address}`;
  if (version !== 6) return 'unparseable';

  const groups = expandIpv6(address);
  if (!groups) return 'unparseable';
  // ::ffff:0:0/96 — IPv4-mapped.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6]!;
    const lo = groups[7]!;
    return `v4:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `v6:${groups.slice(0, 4).map((g) => g.toString(16).padStart(4, '0')).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address already validated by `isIP` (may end in dotted IPv4). */
function expandIpv6(address: string): number[] | undefined {
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const octets = piece.split('.').map(Number);
        out.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const [head, tail, ...rest] = address.split('::');
  if (rest.length > 0) return undefined;
  const left = toGroups(head!);
  if (tail === undefined) return left.length === 8 ? left : undefined;
  const right = toGroups(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 1) return undefined;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}
