import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local stand-in for the part of the Stripe API the payments wrapper uses, so tests drive the
 * real SDK over real HTTP. Listens on 127.0.0.1 on a free port; `apiBase` goes in StripeSettings.
 *
 * - `POST /v1/checkout/sessions`: form-encoded as the SDK sends it (`line_items[0][price_data][…]`),
 *   mode 'payment' only. `Authorization: Bearer <secretKey>` is checked (401 with Stripe's error
 *   object otherwise). `Idempotency-Key` is honoured as Stripe does: same key and body → the saved
 *   answer again (with `Idempotent-Replayed: true`); same key, other body → 400 idempotency_error;
 *   refused requests are not saved.
 * - `GET /v1/checkout/sessions/:id` (404 resource_missing for an unknown id).
 * - `POST /v1/checkout/sessions/:id/expire`: an open session becomes 'expired' (and can no longer
 *   be paid); any other status → 400 invalid_request_error, as Stripe answers.
 * - Bad params → 400 `{ error: { type: 'invalid_request_error', code, message, param } }`.
 * - Test helpers: completeCheckout (the payer paid; builds the event), signedWebhook,
 *   deliverWebhook. Every request is recorded in `requests`.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-cased, as node:http gives them. */
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** The form body decoded into nested objects and arrays; values stay strings, as on the wire. */
  form: FormObject;
}

export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

type Json = Record<string, unknown>;

export interface FakeStripeServer {
  /** http://127.0.0.1:PORT, for StripeSettings.apiBase. */
  apiBase: string;
  secretKey: string;
  webhookSecret: string;
  requests: RecordedRequest[];
  /** Checkout Sessions by id, as the API would return them. */
  sessions: Map<string, Json>;
  /**
   * The payer finished: the session becomes complete and a checkout.session.completed event is
   * returned (not sent). `asyncPayment` mimics a bank debit: complete but still 'unpaid'.
   */
  completeCheckout(sessionId: string, options?: { asyncPayment?: boolean }): Stripe.Event;
  /** A bank debit cleared: payment_status becomes 'paid'; returns checkout.session.async_payment_succeeded. */
  succeedAsyncPayment(sessionId: string): Stripe.Event;
  signedWebhook(event: unknown, timestamp?: number): SignedWebhook;
  deliverWebhook(url: string, event: unknown, timestamp?: number): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export interface SignedWebhook {
  body: string;
  /** The Stripe-Signature header value. */
  header: string;
}

/** Stripe's way of saying a request is wrong, as the SDK expects to parse it. */
function stripeError(status: number, error: Json): { status: number; body: Json } {
  return { status, body: { error: { ...error, request_log_url: null } } };
}

/** `a[b][0][c]=x` pairs → `{ a: { b: [{ c: 'x' }] } }`, the way Stripe reads the SDK's encoding. */
export function decodeStripeForm(raw: string): FormObject {
  const root: FormObject = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const parts = key.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node: FormObject | FormValue[] = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const slot = Array.isArray(node) ? Number(part) : part;
      const container = node as Record<string | number, FormValue>;
      if (last) {
        container[slot] = value;
      } else {
        container[slot] ??= /^\d+$/.test(parts[i + 1]!) ? [] : {};
        node = container[slot] as FormObject | FormValue[];
      }
    });
  }
  return root;
}

function newId(prefix: string): string {
  return `${prefix}_test_${crypto.randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

function str(form: FormObject, key: string): string | undefined {
  const v = form[key];
  return typeof v === 'string' ? v : undefined;
}

export function signedWebhook(event: unknown, webhookSecret: string, timestamp = Math.floor(Date.now() / 1000)): SignedWebhook {
  // Stripe sends pretty-printed JSON; signing these exact bytes is what makes the body tamper-evident.
  const body = JSON.stringify(event, null, 2);
  return { body, header: Stripe.webhooks.generateTestHeaderString({ payload: body, secret: webhookSecret, timestamp }) };
}

export function buildStripeEvent(type: string, object: Json, previous?: Json): Stripe.Event {
  return {
    id: newId('evt').replace('_test_', '_'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: Math.floor(Date.now() / 1000),
    data: { object, ...(previous ? { previous_attributes: previous } : {}) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  } as unknown as Stripe.Event;
}

export async function startFakeStripe(options: { secretKey?: string; webhookSecret?: string } = {}): Promise<FakeStripeServer> {
  const secretKey = options.secretKey ?? 'sk_test_custosFake0000000000000000';
  const webhookSecret = options.webhookSecret ?? `whsec_${crypto.randomBytes(24).toString('base64url')}`;
  const requests: RecordedRequest[] = [];
  const sessions = new Map<string, Json>();
  const idempotent = new Map<string, { bodyHash: string; status: number; body: Json }>();
  let apiBase = '';

  function createSession(form: FormObject): { status: number; body: Json } {
    const mode = str(form, 'mode');
    if (!mode) return stripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: 'mode', message: 'Missing required param: mode.' });
    if (mode !== 'payment') return stripeError(400, { type: 'invalid_request_error', code: 'parameter_invalid', param: 'mode', message: `This fake supports mode 'payment' only, not '${mode}'.` });
    const items = form.line_items;
    if (!Array.isArray(items) || items.length === 0) {
      return stripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: 'line_items', message: 'Missing required param: line_items.' });
    }
    let amount = 0;
    let currency: string | undefined;
    for (const [i, item] of items.entries()) {
      const line = item as FormObject;
      const priceData = line.price_data as FormObject | undefined;
      const param = `line_items[${i}]`;
      if (!priceData) return stripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: `${param}[price_data]`, message: `Missing required param: ${param}[price_data].` });
      for (const field of ['currency', 'unit_amount'] as const) {
        if (!str(priceData, field)) {
          return stripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: `${param}[price_data][${field}]`, message: `Missing required param: ${param}[price_data][${field}].` });
        }
      }
      const name = (priceData.product_data as FormObject | undefined)?.name;
      if (typeof name !== 'string' || name === '') {
        return stripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: `${param}[price_data][product_data][name]`, message: `Missing required param: ${param}[price_data][product_data][name].` });
      }
      const unit = Number(str(priceData, 'unit_amount'));
      const quantity = Number(str(line, 'quantity') ?? 'NaN');
      if (!Number.isSafeInteger(unit) || unit < 0) {
        return stripeError(400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: `${param}[price_data][unit_amount]`, message: 'Invalid integer: unit_amount.' });
      }
      if (!Number.isSafeInteger(quantity) || quantity < 1) {
        return stripeError(400, { type: 'invalid_request_error', code: 'parameter_missing', param: `${param}[quantity]`, message: `Missing required param: ${param}[quantity].` });
      }
      currency = str(priceData, 'currency');
      amount += unit * quantity;
    }
    const id = newId('cs');
    const created = Math.floor(Date.now() / 1000);
    const session: Json = {
      id,
      object: 'checkout.session',
      amount_subtotal: amount,
      amount_total: amount,
      cancel_url: str(form, 'cancel_url') ?? null,
      client_reference_id: str(form, 'client_reference_id') ?? null,
      created,
      currency,
      customer: null,
      customer_email: str(form, 'customer_email') ?? null,
      expires_at: created + 24 * 3600,
      livemode: false,
      metadata: (form.metadata as FormObject | undefined) ?? {},
      mode,
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      success_url: str(form, 'success_url') ?? null,
      ui_mode: 'hosted',
      url: `${apiBase}/c/pay/${id}`,
    };
    sessions.set(id, session);
    return { status: 200, body: session };
  }

  function route(method: string, path: string, headers: http.IncomingHttpHeaders, rawBody: string, form: FormObject): { status: number; body: Json; replayed?: boolean } {
    const auth = headers.authorization ?? '';
    if (!auth) {
      return stripeError(401, { type: 'invalid_request_error', message: 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').' });
    }
    if (auth !== `Bearer ${secretKey}`) {
      const given = auth.replace(/^Bearer /, '');
      return stripeError(401, { type: 'invalid_request_error', message: `Invalid API Key provided: ${given.slice(0, 8)}****${given.slice(-4)}` });
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const key = headers['idempotency-key'];
      const bodyHash = crypto.createHash('sha256').update(rawBody).digest('hex');
      if (typeof key === 'string') {
        const saved = idempotent.get(key);
        if (saved && saved.bodyHash !== bodyHash) {
          return stripeError(400, { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.` });
        }
        if (saved) return { status: saved.status, body: saved.body, replayed: true };
      }
      const answer = createSession(form);
      if (typeof key === 'string' && answer.status === 200) idempotent.set(key, { bodyHash, ...answer });
      return answer;
    }
    const expiring = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(path);
    if (method === 'POST' && expiring) {
      const session = sessions.get(decodeURIComponent(expiring[1]!));
      if (!session) return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'session', message: `No such checkout.session: '${expiring[1]}'` });
      if (session.status !== 'open') {
        return stripeError(400, { type: 'invalid_request_error', message: `Only Checkout Sessions with a status of \`open\` can be expired. This session has a status of \`${String(session.status)}\`.` });
      }
      Object.assign(session, { status: 'expired', url: null });
      return { status: 200, body: session };
    }
    const match = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) {
      const session = sessions.get(decodeURIComponent(match[1]!));
      if (session) return { status: 200, body: session };
      return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'session', message: `No such checkout.session: '${match[1]}'` });
    }
    return stripeError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}). This fake serves only POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id and POST /v1/checkout/sessions/:id/expire.` });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake');
      const form = decodeStripeForm(req.method === 'GET' ? url.search.slice(1) : rawBody);
      requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, rawBody, form });
      const answer = route(req.method ?? '', url.pathname, req.headers, rawBody, form);
      res.writeHead(answer.status, {
        'Content-Type': 'application/json',
        'Request-Id': `req_${crypto.randomBytes(7).toString('hex')}`,
        'Stripe-Version': String(req.headers['stripe-version'] ?? Stripe.API_VERSION),
        ...(answer.replayed ? { 'Idempotent-Replayed': 'true' } : {}),
        ...(typeof req.headers['idempotency-key'] === 'string' ? { 'Idempotency-Key': req.headers['idempotency-key'] } : {}),
      });
      res.end(JSON.stringify(answer.body, null, 2));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function sessionOrThrow(sessionId: string): Json {
    const session = sessions.get(sessionId);
    if (!session) throw new Error(`no Checkout Session ${sessionId} on the fake Stripe`);
    return session;
  }

  const fake: FakeStripeServer = {
    apiBase,
    secretKey,
    webhookSecret,
    requests,
    sessions,
    completeCheckout(sessionId, { asyncPayment = false } = {}) {
      const session = sessionOrThrow(sessionId);
      // An expired session's page says so: the payer cannot pay it.
      if (session.status === 'expired') throw new Error(`Checkout Session ${sessionId} is expired and cannot be paid`);
      const previous = { status: session.status, payment_status: session.payment_status };
      Object.assign(session, { status: 'complete', payment_status: asyncPayment ? 'unpaid' : 'paid', payment_intent: newId('pi') });
      return buildStripeEvent('checkout.session.completed', structuredClone(session), previous);
    },
    succeedAsyncPayment(sessionId) {
      const session = sessionOrThrow(sessionId);
      session.payment_status = 'paid';
      return buildStripeEvent('checkout.session.async_payment_succeeded', structuredClone(session));
    },
    signedWebhook: (event, timestamp) => signedWebhook(event, webhookSecret, timestamp),
    async deliverWebhook(url, event, timestamp) {
      const { body, header } = signedWebhook(event, webhookSecret, timestamp);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': header, 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
        body,
      });
      return { status: response.status, body: await response.text() };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // The SDK keeps connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return fake;
}
