/** What GET /api/health answers; only `status` is relied on, other fields are shown if present. */
export interface Health {
  status: string;
  [detail: string]: unknown;
}

/** Same origin only: the server's CSP (connect-src 'self') allows nothing else. */
export async function fetchHealth(signal?: AbortSignal): Promise<Health> {
  const response = await fetch('/api/health', { signal, headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`health check answered HTTP ${response.status}`);
  const body = (await response.json()) as Partial<Health>;
  if (typeof body.status !== 'string') throw new Error('health check answered without a status');
  return body as Health;
}
