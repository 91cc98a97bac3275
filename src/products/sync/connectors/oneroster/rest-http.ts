import { fetchWithRetry, isRecord, MAX_ATTEMPTS, Stop, type Outbound } from '../http.ts';

/** The HTTP of a OneRoster REST service: status messages, paging headers and the client-credentials token. */

/** The reason for an HTTP status, naming what to check. */
export function statusMessage(status: number): string {
  if (status >= 300 && status < 400) return 'the service answered with a redirect, which is not followed (check the base URL)';
  if (status === 400) return 'the service rejected the request';
  if (status === 401) return 'the service did not accept the access token';
  if (status === 403) return 'the service refused access (check the scopes granted to this client)';
  if (status === 404) return 'not found at the service (check the base URL and version)';
  if (status === 429) return `the service kept rate-limiting the requests (${MAX_ATTEMPTS} attempts)`;
  if (status >= 500) return `the service failed (${MAX_ATTEMPTS} attempts)`;
  return 'the service answered with an unexpected status';
}

/** Parses a number header; undefined unless a non-negative integer. */
export function totalCount(header: string | null): number | undefined {
  if (header === null || !/^\s*\d{1,15}\s*$/.test(header)) return undefined;
  return Number(header);
}

/** Whether a Link header names a next page. */
export function hasNextLink(header: string | null): boolean {
  return header !== null && /rel\s*=\s*"?next"?/i.test(header);
}

const SCOPES = {
  '1.1': [
    'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly',
    'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly',
  ],
  '1.2': [
    'https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly',
    'https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly',
  ],
} as const;

/** Refresh a token this long before the service says it expires. */
const TOKEN_MARGIN_MS = 30_000;

export interface AccessToken {
  value: string;
  expiresAt: number;
}

/** One client-credentials request (RFC 6749 §4.4, the client authenticated with HTTP Basic, §2.3.1). */
export async function requestToken(
  tokenUrl: URL,
  client: { clientId: string; clientSecret: string; version: '1.1' | '1.2' },
  outbound: Outbound,
): Promise<AccessToken> {
  const location = `POST ${tokenUrl.pathname}`;
  const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64');
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPES[client.version].join(' ') });
  const res = await fetchWithRetry(
    tokenUrl,
    {
      method: 'POST',
      headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: body.toString(),
    },
    location,
    outbound,
  );
  if (res.status === 400 || res.status === 401) {
    // RFC 6749 §5.2 error codes are protocol words, never a secret: safe to act on.
    let code: unknown;
    try {
      code = (JSON.parse(res.text) as { error?: unknown }).error;
    } catch {
      code = undefined;
    }
    const message =
      code === 'invalid_scope'
        ? 'the token endpoint refused the OneRoster scopes for this client'
        : code === 'unauthorized_client' || code === 'unsupported_grant_type'
          ? 'the token endpoint does not allow client credentials for this client'
          : 'the token endpoint refused the client id and secret';
    throw new Stop({ location: `${location} (HTTP ${res.status})`, message });
  }
  if (res.status < 200 || res.status > 299) throw new Stop({ location: `${location} (HTTP ${res.status})`, message: `the token endpoint: ${statusMessage(res.status)}` });
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    throw new Stop({ location, message: 'the token response is not JSON' });
  }
  if (!isRecord(json) || typeof json.access_token !== 'string' || json.access_token === '') {
    throw new Stop({ location, message: 'the token response has no access_token' });
  }
  if (!/^[\x21-\x7e]{1,4096}$/.test(json.access_token)) throw new Stop({ location, message: 'the access_token in the token response is not a bearer token' });
  if (json.token_type !== undefined && (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer')) {
    throw new Stop({ location, message: 'the token endpoint issued a token that is not a bearer token' });
  }
  const lifetime = typeof json.expires_in === 'number' && Number.isFinite(json.expires_in) && json.expires_in > 0 ? json.expires_in * 1000 : 3_600_000;
  return { value: json.access_token, expiresAt: Date.now() + Math.max(lifetime - TOKEN_MARGIN_MS, lifetime / 2) };
}
