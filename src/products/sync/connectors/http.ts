import { fetchOutbound, isOutboundRefusal } from '../../../platform/net/outbound.ts';
import type { ImportProblem } from '../model.ts';

/**
 * The HTTP a REST connector needs, one way for all of them: bounded retries on network failures,
 * 429 and 5xx (honouring Retry-After), no redirects followed (a token must not travel to another
 * host), a timeout per request and a cap on the body read. Failures become a `Stop` carrying the
 * problem (location and reason, never a secret or a personal value).
 */
export const MAX_ATTEMPTS = 3;
const BASE_BACKOFF_MS = 250;
const MAX_RETRY_WAIT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** The largest response body read (a page of records is far smaller). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Stops the run: the problem (if any) is already the reason. */
export class Stop extends Error {
  constructor(readonly problem?: ImportProblem) {
    super(problem?.message ?? 'stopped');
  }
}

export interface Fetched {
  status: number;
  headers: Headers;
  text: string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function sleep(ms: number, signal: AbortSignal | undefined, location: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Stop({ location, message: 'the import was cancelled' }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Stop({ location, message: 'the import was cancelled' }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After (seconds or an HTTP date) in ms, capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const when = Date.parse(value);
    if (Number.isNaN(when)) return undefined;
    ms = when - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_WAIT_MS);
}

/** The body as text, or undefined when it is larger than MAX_BODY_BYTES. */
async function readCapped(res: Response): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Plain http only to this machine: elsewhere, credentials and pupils' data would travel unencrypted. */
export function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const code = (err as { cause?: { code?: unknown } })?.cause?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'network error';
}

/** How a connector's requests may go out. */
export interface Outbound {
  signal: AbortSignal | undefined;
  /**
   * A school's MIS lives on the internet: its address (typed in by an admin) may not reach our
   * own network unless OUTBOUND_PRIVATE_ADDRESSES=allow (tests, development).
   */
  allowPrivateAddresses: boolean;
}

/** One request, retried on network failures, 429 and 5xx. Redirects are not followed. */
export async function fetchWithRetry(url: URL, init: RequestInit, location: string, outbound: Outbound): Promise<Fetched> {
  const { signal } = outbound;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new Stop({ location, message: 'the import was cancelled' });
    let res: Response;
    let body: string;
    try {
      const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
      res = await fetchOutbound(url, { ...init, redirect: 'manual', signal: signal ? AbortSignal.any([signal, timeout]) : timeout }, outbound.allowPrivateAddresses);
      const read = await readCapped(res);
      if (read === undefined) throw new Stop({ location, message: `the response is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB` });
      body = read;
    } catch (err) {
      if (err instanceof Stop) throw err;
      if (isOutboundRefusal(err)) throw new Stop({ location, message: 'the address is not on the public internet (check the URL)' });
      if (signal?.aborted) throw new Stop({ location, message: 'the import was cancelled' });
      if (attempt >= MAX_ATTEMPTS) {
        throw new Stop({ location, message: `could not reach the service (${networkReason(err)}) after ${attempt} attempts` });
      }
      await sleep(BASE_BACKOFF_MS * 2 ** (attempt - 1), signal, location);
      continue;
    }
    if ((res.status === 429 || res.status >= 500) && attempt < MAX_ATTEMPTS) {
      await sleep(retryAfterMs(res.headers.get('retry-after')) ?? BASE_BACKOFF_MS * 2 ** (attempt - 1), signal, location);
      continue;
    }
    return { status: res.status, headers: res.headers, text: body };
  }
}

export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}
