import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, requireAccess } from '../../../http/auth.ts';
import { BEARER_AUTH } from '../../../http/openapi.ts';
import { problemResponses } from '../../../http/problem.ts';
import { requestMeta, tenantHandler } from '../../../http/tenant-route.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { callStripe, invoiceCheckoutRequest, OnlinePaymentNotSetUpError, prepareInvoiceCheckout, recordInvoiceCheckout } from '../invoices/checkout.ts';
import { invoiceExportRows } from '../invoices/export.ts';
import { loadInvoicePdfInput, renderInvoicePdf } from '../invoices/invoice-pdf.ts';
import { createInvoice, getInvoice, listInvoices, ukToday, voidInvoice, type CreateInvoiceInput, type InvoiceListQuery } from '../invoices/invoices.ts';
import { invoiceReceipt } from '../invoices/receipt.ts';
import { listPurchases, pricePurchase, purchaseCheckoutRequest, recordPurchase, type PurchaseInput } from '../invoices/purchases.ts';
import { handleStripeWebhook } from '../invoices/settle.ts';
import { writeInvoicesWorkbook } from '../payments/excel.ts';
import { VAT_RATES } from '../payments/money.ts';
import { createStripePayments } from '../payments/stripe.ts';
import { PORTAL_PERMISSIONS } from '../permissions.ts';
import { contentDisposition } from './document-routes.ts';
import { idParams } from './schemas.ts';

void PORTAL_PERMISSIONS;

const STATUSES = ['outstanding', 'paid', 'void'] as const;
/** Signed Stripe events are a few kilobytes; anything near this is not one. */
const MAX_WEBHOOK_BYTES = 256 * 1024;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const invoiceSummarySchema = z
  .object({
    id: z.uuid(),
    clientId: z.uuid(),
    number: z.string(),
    status: z.enum(STATUSES),
    overdue: z.boolean().describe('Outstanding and past its due date (UK calendar)'),
    issuedOn: z.string(),
    dueOn: z.string(),
    netPence: z.number().int(),
    vatPence: z.number().int(),
    grossPence: z.number().int(),
    currency: z.string(),
    paidAt: z.string().nullable(),
    paymentReference: z.string().nullable().describe("The payment provider's reference once paid"),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'PortalInvoiceSummary' });

const vatSummarySchema = z.array(z.object({ vatRate: z.enum(VAT_RATES), ratePercent: z.number(), netPence: z.number().int(), vatPence: z.number().int() }));

const invoiceSchema = invoiceSummarySchema
  .extend({
    lines: z.array(
      z.object({
        description: z.string(),
        quantity: z.string(),
        unitPricePence: z.number().int(),
        vatRate: z.enum(VAT_RATES),
        ratePercent: z.number(),
        netPence: z.number().int(),
        vatPence: z.number().int(),
        grossPence: z.number().int(),
      }),
    ),
    vatSummary: vatSummarySchema,
  })
  .meta({ id: 'PortalInvoice' });

const receiptSchema = z
  .object({
    invoiceId: z.uuid(),
    clientId: z.uuid(),
    number: z.string(),
    practiceName: z.string(),
    paidAt: z.string(),
    paymentReference: z.string().nullable(),
    currency: z.string(),
    netPence: z.number().int(),
    vatPence: z.number().int(),
    grossPence: z.number().int(),
    vatSummary: vatSummarySchema,
  })
  .meta({ id: 'PortalInvoiceReceipt' });

const purchaseSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['signing', 'storage']),
    quantity: z.number().int(),
    amountPence: z.number().int(),
    status: z.enum(['pending', 'paid']),
    createdBy: z.string(),
    createdAt: z.string(),
    paidAt: z.string().nullable(),
    expiresAt: z.string().nullable().describe('storage: when the year bought ends'),
  })
  .meta({ id: 'PortalPurchase' });

const checkoutSchema = z.object({ sessionId: z.string(), url: z.string().describe("Stripe's hosted payment page: send the payer's browser here") });

const listQuery = z.strictObject({
  clientId: z.uuid({ error: 'must be a client id' }).optional(),
  status: z.enum(STATUSES, { error: `must be one of ${STATUSES.join(', ')}` }).optional(),
  overdue: z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }).transform((v) => v === 'true').optional(),
});

/**
 * Invoices, their online payment and the practice's own purchases:
 * - /api/v1/portal/invoices: staff raise, void and export ('portal.invoices.manage'); staff and
 *   client users read ('portal.clients.read': the database shows a client user their own clients'
 *   invoices only) and start paying (checked again in the handler: 'portal.respond' or
 *   'portal.invoices.manage').
 * - /api/v1/portal/practice/purchases: administrators buy signing credits and storage ('portal.billing.manage').
 * - /api/public/payments/stripe: Stripe's signed webhook, the only way anything becomes paid.
 * Without Stripe settings, paying online answers 409 and everything else works.
 */
export async function invoiceRoutes(app: FastifyInstance): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const platform = app.platform;
  const payments = platform.config.stripe ? createStripePayments(platform.config.stripe) : undefined;
  const requirePayments = () => {
    if (!payments) throw new OnlinePaymentNotSetUpError();
    return payments;
  };

  routes.post(
    '/api/v1/portal/invoices',
    {
      onRequest: [authenticate, requireAccess('portal.invoices.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Raise an invoice to a client',
        description:
          'Lines are `{description, quantity ("1.5" or 1.5), unitPricePence, vatRate: standard|reduced|zero|exempt|outside-scope}`; VAT is worked out per line, rounded half up. Without `number` the next INV-000123 of the practice is used. Every bad field is named (e.g. `lines[0].vatRate`).',
        security: BEARER_AUTH,
        body: z.record(z.string(), z.unknown()).describe('{clientId, number?, issuedOn? (default today), dueOn, lines[]}'),
        response: { 201: invoiceSchema, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope, reply) => {
      const invoice = await createInvoice(platform.queue, scope, request.body as CreateInvoiceInput, platform.config.publicUrl);
      reply.code(201);
      return invoice;
    }),
  );

  routes.get(
    '/api/v1/portal/invoices',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'Invoices, newest first (a client user: their own clients’)',
        security: BEARER_AUTH,
        querystring: listQuery.extend({ limit: z.coerce.number().int().min(1).max(500).optional(), offset: z.coerce.number().int().min(0).optional() }),
        response: { 200: z.object({ items: z.array(invoiceSummarySchema), total: z.number().int() }), ...problemResponses(400, 401, 403, 429) },
      },
    },
    tenantHandler(async (request, scope) => listInvoices(scope, request.query as InvoiceListQuery)),
  );

  routes.get(
    '/api/v1/portal/invoices/export.xlsx',
    {
      onRequest: [authenticate, requireAccess('portal.invoices.manage', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'The invoices as an Excel workbook, with totals',
        description: 'Same filters as the list. Amounts are numbers in £, dates are dates; text cells can never become formulas.',
        security: BEARER_AUTH,
        querystring: listQuery,
        response: { 200: z.any().describe('The .xlsx file'), ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      // Rows are read in one short transaction; the workbook is then streamed to the caller
      // without holding a database connection for as long as a slow download takes.
      const query = request.query as InvoiceListQuery;
      const rows = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => invoiceExportRows(scope, query))(request, reply);
      const file = new PassThrough();
      reply
        .header('content-type', XLSX)
        .header('content-disposition', contentDisposition('attachment', `invoices-${ukToday()}.xlsx`))
        .header('cache-control', 'private, no-store')
        .header('x-content-type-options', 'nosniff');
      writeInvoicesWorkbook(rows, file).catch((error: unknown) => request.log.error({ err: error }, 'invoice export failed part-way'));
      return reply.send(file);
    },
  );

  routes.get(
    '/api/v1/portal/invoices/:id',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: { tags: ['portal'], summary: 'One invoice with its lines and VAT summary', security: BEARER_AUTH, params: idParams('an invoice'), response: { 200: invoiceSchema, ...problemResponses(400, 401, 403, 404, 429) } },
    },
    tenantHandler(async (request, scope) => getInvoice(scope, request.params.id)),
  );

  routes.post(
    '/api/v1/portal/invoices/:id/void',
    {
      onRequest: [authenticate, requireAccess('portal.invoices.manage', 'admin')],
      schema: { tags: ['portal'], summary: 'Void an outstanding invoice', security: BEARER_AUTH, params: idParams('an invoice'), response: { 200: invoiceSchema, ...problemResponses(400, 401, 403, 404, 409, 429) } },
    },
    async (request, reply) => {
      const { invoice, checkoutSessionId } = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => voidInvoice(scope, request.params.id))(request, reply);
      // Once the void has committed, the payment page is closed so nobody pays a void invoice. If
      // Stripe cannot be reached, the webhook still refuses such a payment (409, kept for a refund).
      if (checkoutSessionId && payments) {
        await payments.expireCheckout(checkoutSessionId).catch((error: unknown) => {
          request.log.warn({ invoiceId: invoice.id, err: { name: (error as Error).name } }, 'could not close the Stripe Checkout page of a void invoice');
        });
      }
      return invoice;
    },
  );

  routes.get(
    '/api/v1/portal/invoices/:id/pdf',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'The invoice as a PDF (once paid, it is the receipt too)',
        security: BEARER_AUTH,
        params: idParams('an invoice'),
        response: { 200: z.any().describe('The PDF'), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      // Read in one short transaction; drawn with no database connection held.
      const input = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => loadInvoicePdfInput(scope, request.params.id))(request, reply);
      const pdf = await renderInvoicePdf(input);
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', contentDisposition('attachment', `${input.invoice.number}.pdf`))
        .header('cache-control', 'private, no-store')
        .header('x-content-type-options', 'nosniff')
        .send(pdf);
    },
  );

  routes.get(
    '/api/v1/portal/invoices/:id/receipt',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'The receipt of a paid invoice: when, the payment reference and the amounts',
        security: BEARER_AUTH,
        params: idParams('an invoice'),
        response: { 200: receiptSchema, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    tenantHandler(async (request, scope) => invoiceReceipt(scope, request.params.id)),
  );

  routes.post(
    '/api/v1/portal/invoices/:id/checkout',
    {
      onRequest: [authenticate, requireAccess('portal.clients.read', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Start paying an invoice online: a Stripe Checkout page',
        description: "For the client's users ('portal.respond') and the practice's staff ('portal.invoices.manage'). The invoice becomes paid only when Stripe's signed webhook says so. 409 when paid, void, under £0.30, or online payment is not set up.",
        security: BEARER_AUTH,
        params: idParams('an invoice'),
        response: { 201: checkoutSchema, ...problemResponses(400, 401, 403, 404, 409, 429, 502, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      // Who may pay and what is owed first (404 for an invoice the caller cannot see), then Stripe
      // with no transaction open, then the session is recorded.
      const invoice = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => prepareInvoiceCheckout(scope, id))(request, reply);
      const stripe = requirePayments();
      const tenantId = request.auth!.tenantId;
      const checkout = await callStripe(() => stripe.createInvoiceCheckout(invoiceCheckoutRequest(tenantId, invoice, platform.config.publicUrl)));
      await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => recordInvoiceCheckout(scope, invoice, checkout))(request, reply);
      reply.code(201);
      return checkout;
    },
  );

  routes.get(
    '/api/v1/portal/practice/purchases',
    {
      onRequest: [authenticate, requireAccess('portal.billing.manage', 'read')],
      schema: {
        tags: ['portal'],
        summary: 'The practice’s purchases of signing credits and storage, newest first',
        security: BEARER_AUTH,
        response: { 200: z.object({ purchases: z.array(purchaseSchema) }), ...problemResponses(401, 403, 429) },
      },
    },
    tenantHandler(async (_request, scope) => ({ purchases: await listPurchases(scope) })),
  );

  routes.post(
    '/api/v1/portal/practice/purchases',
    {
      onRequest: [authenticate, requireAccess('portal.billing.manage', 'admin')],
      schema: {
        tags: ['portal'],
        summary: 'Buy signing credits or storage: a Stripe Checkout page',
        description: 'Signing credits: £1.50 each in packs of 10. Storage: £2.00 per GB for a year. Prices include VAT. The balance grows when Stripe’s signed webhook confirms the payment.',
        security: BEARER_AUTH,
        body: z.record(z.string(), z.unknown()).describe("{kind: 'signing'|'storage', quantity (credits, or GB)}"),
        response: { 201: z.object({ purchase: purchaseSchema, checkout: checkoutSchema }), ...problemResponses(400, 401, 403, 409, 429, 502, 503) },
      },
    },
    async (request, reply) => {
      const priced = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => pricePurchase(scope, request.body as PurchaseInput))(request, reply);
      const stripe = requirePayments();
      const tenantId = request.auth!.tenantId;
      const checkout = await callStripe(() => stripe.createInvoiceCheckout(purchaseCheckoutRequest(tenantId, priced, platform.config.publicUrl)));
      const purchase = await tenantHandler(async (_request: FastifyRequest, scope: TenantScope) => recordPurchase(scope, priced, checkout))(request, reply);
      reply.code(201);
      return { purchase, checkout };
    },
  );

  // Stripe's webhook: public, and its own plugin whose only parser keeps the body as the exact
  // bytes received, since the signature covers those bytes and not a re-serialised object.
  await app.register(async (webhook) => {
    webhook.removeAllContentTypeParsers();
    webhook.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (_request, body, done) => done(null, body));
    webhook.withTypeProvider<ZodTypeProvider>().post(
      '/api/public/payments/stripe',
      {
        bodyLimit: MAX_WEBHOOK_BYTES,
        schema: {
          tags: ['portal'],
          summary: "Stripe's webhook: a completed Checkout makes an invoice or purchase paid",
          description:
            'Public; only a delivery signed with the endpoint secret is read (400 otherwise). An event already handled answers 200 and changes nothing. A genuine payment that does not match what is owed answers 409 and changes nothing.',
          response: {
            200: z.object({ received: z.literal(true), outcome: z.enum(['paid', 'already-paid', 'replayed', 'ignored']), reason: z.string().optional() }),
            ...problemResponses(400, 409, 413, 429),
          },
        },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const outcome = await handleStripeWebhook({ platform, payments }, body, request.headers['stripe-signature'], requestMeta(request));
        request.log.info({ outcome: outcome.outcome, reason: outcome.reason }, 'Stripe webhook handled');
        return outcome;
      },
    );
  });
}
