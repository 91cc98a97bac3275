import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

/**
 * Outbound HTTP to addresses a customer typed in (webhook receivers, MIS connections). Such an address must not
 * reach our own network: loopback, private, link-local (cloud metadata at 169.254.169.254),
 * carrier-grade NAT, multicast and documentation ranges are refused. The check sits in the DNS
 * lookup the connection itself uses, so a name that resolves to a public address when checked
 * and a private one when connecting (DNS rebinding) cannot slip through.
 *
 * Tests and local development that run receivers on 127.0.0.1 switch this off with
 * OUTBOUND_PRIVATE_ADDRESSES=allow.
 */

const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(prefix, bits, 'ipv6');

/** True when `address` (an IP literal) is on the public internet. */
export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return isPublicAddress(mapped[1]!);
    return !blocked.check(address, 'ipv6');
  }
  return !blocked.check(address, 'ipv4');
}

export class OutboundAddressRefused extends Error {
  readonly code = 'OUTBOUND_ADDRESS_REFUSED';
  constructor() {
    // The host is not named: logs of refused deliveries must not carry customers' addresses.
    super('the address is not on the public internet');
    this.name = 'OutboundAddressRefused';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request that answers only public addresses. */
function publicOnlyLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, options.all ? [] : '', undefined);
    const list = addresses as dns.LookupAddress[];
    // Every address must be public: a client may try them in turn.
    if (list.length === 0 || !list.every((a) => isPublicAddress(a.address))) return callback(new OutboundAddressRefused(), options.all ? [] : '', undefined);
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

/** Refuses an IP literal in the URL, which is connected to without any lookup. */
function refusesLiteral(url: URL): boolean {
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  return net.isIP(literal) !== 0 && !isPublicAddress(literal);
}

/** True when `err` (as fetch or a request rejects) is, or was caused by, a refused address. */
export function isOutboundRefusal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundAddressRefused) return true;
  }
  return false;
}

let publicOnlyAgent: Agent | undefined;

/**
 * fetch with the same rule as postOutbound: with `allowPrivate` false, a host that is (or resolves
 * to) a non-public address is refused with OutboundAddressRefused, as the cause of fetch's error.
 */
export function fetchOutbound(url: URL, init: RequestInit, allowPrivate: boolean): Promise<Response> {
  if (!allowPrivate && refusesLiteral(url)) return Promise.reject(new TypeError('fetch failed', { cause: new OutboundAddressRefused() }));
  publicOnlyAgent ??= new Agent({ connect: { lookup: publicOnlyLookup as unknown as typeof dns.lookup } });
  // undici's own fetch: the global one may not accept a dispatcher from another undici version.
  return undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), ...(allowPrivate ? {} : { dispatcher: publicOnlyAgent }) }) as unknown as Promise<Response>;
}

export interface OutboundPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** OUTBOUND_PRIVATE_ADDRESSES=allow: for receivers on this machine in tests and development. */
  allowPrivate: boolean;
}

/**
 * POSTs `body` and resolves with the status code (the answer's body is drained and dropped;
 * redirects are not followed: a 3xx is just a status). Rejects with OutboundAddressRefused for a
 * private address, with an error named 'TimeoutError' after `timeoutMs`, or with the socket's error.
 */
export function postOutbound(request: OutboundPost): Promise<number> {
  const url = new URL(request.url);
  // An IP written in the URL is connected to without any lookup: check it here.
  if (!request.allowPrivate && refusesLiteral(url)) return Promise.reject(new OutboundAddressRefused());
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const outgoing = client.request(
      url,
      {
        method: 'POST',
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
        ...(request.allowPrivate ? {} : { lookup: publicOnlyLookup as unknown as typeof dns.lookup }),
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          clearTimeout(deadline);
          resolve(response.statusCode ?? 0);
        });
        response.on('error', reject);
      },
    );
    // One deadline for the whole exchange (the socket's own timeout only counts idle time).
    const deadline = setTimeout(() => {
      const error = new Error('timed out');
      error.name = 'TimeoutError';
      outgoing.destroy(error);
    }, request.timeoutMs);
    outgoing.on('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    outgoing.end(request.body);
  });
}
