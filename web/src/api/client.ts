/**
 * The one way the web app calls the API: same origin (the CSP allows nothing else), JSON in and
 * out, the session cookie sent by the browser, and the CSRF token echoed in a header on every
 * state-changing request. Errors arrive as RFC 9457 problem+json and become {@link ApiError}.
 */

export interface FieldProblem {
  field: string;
  reason: string;
}

/** The last segment of a problem `type` URI: 'validation', 'invalid-credentials', … */
export type ProblemKind =
  | 'invalid-credentials'
  | 'too-many-attempts'
  | 'rate-limited'
  | 'validation'
  | 'invalid-link'
  | 'mfa-required'
  | 'unauthorized'
  | 'forbidden'
  | 'conflict'
  | 'not-found'
  | (string & {});

export class ApiError extends Error {
  readonly status: number;
  readonly kind: ProblemKind;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldProblem[];
  readonly requestId: string | undefined;
  /** Seconds, from Retry-After on a 429. */
  readonly retryAfter: number | undefined;

  constructor(init: { status: number; kind: ProblemKind; title: string; detail: string; errors?: FieldProblem[]; requestId?: string; retryAfter?: number }) {
    super(init.detail || init.title);
    this.name = 'ApiError';
    this.status = init.status;
    this.kind = init.kind;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors ?? [];
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
  }
}

/** The CSRF cookie: `__Host-custos_csrf` over HTTPS, `custos_csrf` over plain HTTP. */
export const CSRF_COOKIES = ['__Host-custos_csrf', 'custos_csrf'] as const;

export function csrfToken(cookies: string = document.cookie): string | undefined {
  const jar = new Map<string, string>();
  for (const part of cookies.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    jar.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  for (const name of CSRF_COOKIES) {
    const value = jar.get(name);
    if (value) {
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function kindOf(type: unknown): string {
  if (typeof type !== 'string') return 'unknown';
  const slash = type.lastIndexOf('/');
  return slash >= 0 ? type.slice(slash + 1) : type;
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page, say): fall back to the status line.
  }
  const retry = Number(response.headers.get('retry-after'));
  const errors = Array.isArray(body.errors)
    ? body.errors.filter((e): e is FieldProblem => typeof e?.field === 'string' && typeof e?.reason === 'string')
    : [];
  return new ApiError({
    status: response.status,
    kind: body.type !== undefined ? kindOf(body.type) : response.status === 401 ? 'unauthorized' : `http-${response.status}`,
    title: typeof body.title === 'string' ? body.title : response.statusText || `HTTP ${response.status}`,
    detail: typeof body.detail === 'string' ? body.detail : '',
    errors,
    requestId: typeof body.requestId === 'string' ? body.requestId : undefined,
    retryAfter: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

/** Listeners told when any call finds the session gone (401) or short of MFA (403 mfa-required). */
const sessionListeners = new Set<(error: ApiError) => void>();

export function onSessionProblem(listener: (error: ApiError) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

function tellSessionListeners(error: ApiError): void {
  if (error.kind === 'unauthorized' || error.kind === 'mfa-required') {
    for (const listener of sessionListeners) listener(error);
  }
}

export async function request<T>(method: Method, path: string, body?: unknown, options: { signal?: AbortSignal; quietAuth?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal: options.signal,
  });
  if (!response.ok) {
    const error = await toApiError(response);
    if (!options.quietAuth) tellSessionListeners(error);
    throw error;
  }
  if (response.status === 204) return undefined as T;
  // A 202 may carry a body (what was queued) or none at all: read it when there is one.
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, options?: { signal?: AbortSignal; quietAuth?: boolean }) => request<T>('GET', path, undefined, options),
  post: <T = void>(path: string, body?: unknown, options?: { quietAuth?: boolean }) => request<T>('POST', path, body ?? {}, options),
  put: <T = void>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {}),
  delete: <T = void>(path: string) => request<T>('DELETE', path),
};

/**
 * POSTs a file as the raw body (`application/octet-stream`), with the CSRF header, reporting how
 * much has been sent. XMLHttpRequest rather than fetch: only it reports upload progress. The
 * answer is read as {@link request} reads it: JSON on success, an {@link ApiError} otherwise.
 */
/**
 * POSTs a file as the raw body with progress. `contentType` declares what the file is (the server
 * checks the content against it); without it the file claims nothing (`application/octet-stream`).
 */
export function uploadFile<T>(path: string, file: Blob, options: { onProgress?: (sent: number, total: number) => void; contentType?: string } = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader('content-type', options.contentType || 'application/octet-stream');
    const token = csrfToken();
    if (token) xhr.setRequestHeader('x-csrf-token', token);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded, event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve((xhr.responseText ? JSON.parse(xhr.responseText) : undefined) as T);
        } catch (error) {
          reject(error);
        }
        return;
      }
      const headers = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const at = line.indexOf(':');
        if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
      }
      void toApiError(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText, headers })).then((error) => {
        tellSessionListeners(error);
        reject(error);
      }, reject);
    });
    xhr.addEventListener('error', () => reject(new TypeError('the upload did not reach the server')));
    xhr.addEventListener('abort', () => reject(new TypeError('the upload was stopped')));
    xhr.send(file);
  });
}

/** A message for a problem that is not about one field, in words a person can act on. */
export function describeProblem(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Check your connection and try again.';
  switch (error.kind) {
    case 'too-many-attempts':
    case 'rate-limited':
      return error.retryAfter
        ? `Too many attempts. Try again in ${waitWords(error.retryAfter)}.`
        : 'Too many attempts. Wait a few minutes and try again.';
    case 'unauthorized':
      return 'Your session has ended. Sign in again.';
    case 'mfa-required':
      return 'Confirm it is you with your authenticator app first.';
    case 'forbidden':
      return 'You do not have permission to do that.';
    case 'invalid-link':
      return 'This link has expired or has already been used. Ask for a new one.';
    default:
      return error.detail ? capitalise(error.detail) : `${error.title}. Try again, or quote reference ${error.requestId ?? 'unknown'} to support.`;
  }
}

function waitWords(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
