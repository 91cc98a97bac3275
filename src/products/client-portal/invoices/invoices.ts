import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError, ValidationError, type FieldProblem } from '../../../platform/errors.ts';
import type { JobQueue } from '../../../platform/jobs/queue.ts';
import { fieldProblems } from '../../../platform/validation.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { mailClientUsers } from '../portal-mail.ts';
import { actorLabel, getClient } from '../clients.ts';
import { REMINDER_INTERVAL_DAYS } from '../flows/flows.ts';
import { formatQuantity, parseInvoiceLines, VAT_RATE_PERCENT, VAT_RATES, type VatRate, type VatSummaryRow } from '../payments/money.ts';
import { requirePractice } from '../practice.ts';
import { invoiceIssued } from '../reminders/wording.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/**
 * Invoices a practice raises to its clients. Lines (descriptions included) are sealed as one JSON
 * value with the practice's data key; the totals, dates and state stay in clear so lists, filters,
 * the export and the payment check need nothing opened. Audit entries carry amounts and numbers,
 * never what the lines say.
 *
 * Statuses as the API names them: 'outstanding' (stored 'issued'), 'paid' and 'void'. An
 * outstanding invoice past its due date (UK calendar) is overdue.
 */

export type InvoiceStatus = 'outstanding' | 'paid' | 'void';
type StoredStatus = 'issued' | 'paid' | 'void';

const toStatus = (stored: StoredStatus): InvoiceStatus => (stored === 'issued' ? 'outstanding' : stored);
const toStored = (status: InvoiceStatus): StoredStatus => (status === 'outstanding' ? 'issued' : status);

export interface InvoiceSummary {
  id: string;
  clientId: string;
  number: string;
  status: InvoiceStatus;
  overdue: boolean;
  issuedOn: string;
  dueOn: string;
  netPence: number;
  vatPence: number;
  grossPence: number;
  currency: string;
  paidAt: string | null;
  /** The payment provider's reference (Stripe PaymentIntent id) once paid. */
  paymentReference: string | null;
  createdBy: string;
  createdAt: string;
}

export interface InvoiceLineView {
  description: string;
  /** Decimal with two places, e.g. "1.50". */
  quantity: string;
  unitPricePence: number;
  vatRate: VatRate;
  ratePercent: number;
  netPence: number;
  vatPence: number;
  grossPence: number;
}

export interface Invoice extends InvoiceSummary {
  lines: InvoiceLineView[];
  vatSummary: VatSummaryRow[];
}

/** What is sealed in lines_enc: the priced lines as issued, so a later change of rates never alters an old invoice. */
interface SealedLine {
  description: string;
  quantityHundredths: number;
  unitPricePence: number;
  vatRate: VatRate;
  ratePercent: number;
  netPence: number;
  vatPence: number;
}

const LINES_PURPOSE = 'portal.invoice.lines';
export const AUTO_NUMBER_PREFIX = 'INV-';

const isoDate = z.iso.date({ error: 'must be a date (YYYY-MM-DD)' });

export const createInvoiceSchema = z.strictObject({
  clientId: z.uuid({ error: 'must be a client id' }),
  number: z
    .string({ error: 'must be text' })
    .trim()
    .min(1, 'must not be empty')
    .max(40, 'must be at most 40 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._/-]*$/, 'may hold letters, digits, spaces and . _ / -')
    .optional(),
  issuedOn: isoDate.optional(),
  dueOn: isoDate,
  // Checked by parseInvoiceLines, whose messages name each line's field (lines[0].vatRate).
  lines: z.unknown(),
});
export type CreateInvoiceInput = z.input<typeof createInvoiceSchema>;

/** Today's date in the UK, as due dates are meant. */
export function ukToday(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export type InvoiceRow = {
  id: string;
  client_id: string;
  number: string;
  status: StoredStatus;
  issued_on: string;
  due_on: string;
  net_pence: number | string;
  vat_pence: number | string;
  gross_pence: number | string;
  currency: string;
  paid_at: Date | null;
  payment_intent_id: string | null;
  created_by: string;
  created_at: Date;
};

/** Dates as text: a `date` column must not pass through a JavaScript Date and a time zone. */
export const SUMMARY_COLUMNS = [
  'id',
  'client_id',
  'number',
  'status',
  sql<string>`to_char(issued_on, 'YYYY-MM-DD')`.as('issued_on'),
  sql<string>`to_char(due_on, 'YYYY-MM-DD')`.as('due_on'),
  'net_pence',
  'vat_pence',
  'gross_pence',
  'currency',
  'paid_at',
  'payment_intent_id',
  'created_by',
  'created_at',
] as const;

export function toSummary(row: InvoiceRow, today = ukToday()): InvoiceSummary {
  return {
    id: row.id,
    clientId: row.client_id,
    number: row.number,
    status: toStatus(row.status),
    overdue: row.status === 'issued' && row.due_on < today,
    issuedOn: row.issued_on,
    dueOn: row.due_on,
    netPence: Number(row.net_pence),
    vatPence: Number(row.vat_pence),
    grossPence: Number(row.gross_pence),
    currency: row.currency,
    paidAt: row.paid_at ? new Date(row.paid_at).toISOString() : null,
    paymentReference: row.payment_intent_id,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

function openLines(scope: TenantScope, sealed: string): InvoiceLineView[] {
  const stored = JSON.parse(scope.cipher.open(LINES_PURPOSE, sealed)) as { lines: SealedLine[] };
  return stored.lines.map((l) => ({
    description: l.description,
    quantity: formatQuantity(l.quantityHundredths),
    unitPricePence: l.unitPricePence,
    vatRate: l.vatRate,
    ratePercent: l.ratePercent,
    netPence: l.netPence,
    vatPence: l.vatPence,
    grossPence: l.netPence + l.vatPence,
  }));
}

/** The VAT summary from the lines as issued (not re-priced), in the order of VAT_RATES. */
export function summariseVat(lines: readonly Pick<InvoiceLineView, 'vatRate' | 'ratePercent' | 'netPence' | 'vatPence'>[]): VatSummaryRow[] {
  const byRate = new Map<VatRate, VatSummaryRow>();
  for (const line of lines) {
    const row = byRate.get(line.vatRate) ?? { vatRate: line.vatRate, ratePercent: line.ratePercent, netPence: 0, vatPence: 0 };
    row.netPence += line.netPence;
    row.vatPence += line.vatPence;
    byRate.set(line.vatRate, row);
  }
  return VAT_RATES.flatMap((rate) => byRate.get(rate) ?? []);
}

/**
 * The next automatic number, INV-000001 onwards, from the practice's counter (0013). The counter
 * row stays locked until the transaction ends, so numbers are handed out one at a time; a number
 * someone already typed in by hand is skipped.
 */
async function nextInvoiceNumber(scope: TenantScope): Promise<string> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const bumped = await sql<{ n: number | string }>`
      UPDATE portal_practice SET last_invoice_number = last_invoice_number + 1
       WHERE tenant_id = ${scope.tenantId} RETURNING last_invoice_number AS n`.execute(scope.trx);
    const number = `${AUTO_NUMBER_PREFIX}${String(Number(bumped.rows[0]!.n)).padStart(6, '0')}`;
    const taken = await scope.trx.selectFrom('portal_invoices').select('id').where('number', '=', number).executeTakeFirst();
    if (!taken) return number;
  }
  throw new ConflictError('could not find a free invoice number; give one explicitly');
}

function invoiceInput(input: unknown) {
  const problems: FieldProblem[] = [];
  const parsed = createInvoiceSchema.safeParse(input);
  if (!parsed.success) problems.push(...fieldProblems(parsed.error));
  let totals: ReturnType<typeof parseInvoiceLines> | undefined;
  try {
    totals = parseInvoiceLines({ lines: (input as { lines?: unknown } | null)?.lines });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.push(...(error.errors ?? []));
  }
  if (parsed.success) {
    const issuedOn = parsed.data.issuedOn ?? ukToday();
    if (parsed.data.dueOn < issuedOn) problems.push({ field: 'dueOn', reason: 'must not be before the issue date' });
  }
  if (problems.length > 0 || !parsed.success || !totals) throw new ValidationError(problems);
  return { data: { ...parsed.data, issuedOn: parsed.data.issuedOn ?? ukToday() }, totals };
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

/**
 * Raises an invoice to one of the practice's clients and emails the client's users (amounts and a
 * link, not what the lines say) in the same transaction. Every bad field is named at once
 * (lines[0].vatRate, dueOn…).
 */
export async function createInvoice(queue: JobQueue, scope: TenantScope, input: CreateInvoiceInput, portalUrl: string): Promise<Invoice> {
  const { data, totals } = invoiceInput(input);
  await requirePractice(scope);
  await getClient(scope, data.clientId);
  const number = data.number ?? (await nextInvoiceNumber(scope));
  const sealed: SealedLine[] = totals.lines.map((l) => ({
    description: l.description,
    quantityHundredths: l.quantityHundredths,
    unitPricePence: l.unitPricePence,
    vatRate: l.vatRate,
    ratePercent: VAT_RATE_PERCENT[l.vatRate],
    netPence: l.netPence,
    vatPence: l.vatPence,
  }));
  let id: string;
  try {
    ({ id } = await scope.trx
      .insertInto('portal_invoices')
      .values({
        tenant_id: scope.tenantId,
        client_id: data.clientId,
        number,
        issued_on: data.issuedOn,
        due_on: data.dueOn,
        lines_enc: scope.cipher.seal(LINES_PURPOSE, JSON.stringify({ lines: sealed })),
        net_pence: totals.netPence,
        vat_pence: totals.vatPence,
        gross_pence: totals.grossPence,
        currency: 'gbp',
        created_by: actorLabel(scope),
        // The reminder pass (reminders/) emails the client's users from then on until it is paid or void.
        next_reminder_at: new Date(Date.now() + REMINDER_INTERVAL_DAYS * 86_400_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow());
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`another invoice already has the number ${number}`);
    throw error;
  }
  await recordAudit(scope, {
    action: 'portal.invoice_created',
    target: { type: 'portal_invoice', id },
    changes: {
      number: { after: number },
      client: { after: data.clientId },
      lines: { after: sealed.length },
      netPence: { after: totals.netPence },
      vatPence: { after: totals.vatPence },
      grossPence: { after: totals.grossPence },
      dueOn: { after: data.dueOn },
    },
  });
  const practiceName = await organisationName(scope);
  await mailClientUsers(queue, scope, data.clientId, invoiceIssued(practiceName, { id, number, grossPence: totals.grossPence, vatPence: totals.vatPence, currency: 'gbp', dueOn: data.dueOn }, portalUrl));
  return getInvoice(scope, id);
}

export interface InvoiceListQuery {
  clientId?: string;
  status?: InvoiceStatus;
  /** true: outstanding and past due; false: everything else. */
  overdue?: boolean;
  limit?: number;
  offset?: number;
}

export function filtered(scope: TenantScope, query: Omit<InvoiceListQuery, 'limit' | 'offset'>, today: string) {
  let base = scope.trx.selectFrom('portal_invoices').where('tenant_id', '=', scope.tenantId);
  if (query.clientId) base = base.where('client_id', '=', query.clientId);
  if (query.status) base = base.where('status', '=', toStored(query.status));
  if (query.overdue === true) base = base.where('status', '=', 'issued').where(sql<boolean>`due_on < ${today}::date`);
  if (query.overdue === false) base = base.where(sql<boolean>`(status <> 'issued' OR due_on >= ${today}::date)`);
  return base;
}

/**
 * Invoices, newest issue date first. A client user's query is the same: the database shows them
 * their own clients' invoices only (0011), and another practice's none at all.
 */
export async function listInvoices(scope: TenantScope, query: InvoiceListQuery = {}): Promise<{ items: InvoiceSummary[]; total: number }> {
  if (query.clientId !== undefined && !isUuid(query.clientId)) return { items: [], total: 0 };
  const today = ukToday();
  const base = filtered(scope, query, today);
  const { total } = await base.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow();
  const rows = await base
    .select(SUMMARY_COLUMNS)
    .orderBy('issued_on', 'desc')
    .orderBy('number', 'desc')
    .limit(Math.max(1, Math.min(500, query.limit ?? 100)))
    .offset(Math.max(0, query.offset ?? 0))
    .execute();
  return { items: rows.map((r) => toSummary(r as InvoiceRow, today)), total };
}

export async function getInvoice(scope: TenantScope, invoiceId: string): Promise<Invoice> {
  if (!isUuid(invoiceId)) throw new NotFoundError('invoice');
  const row = await scope.trx.selectFrom('portal_invoices').select([...SUMMARY_COLUMNS, 'lines_enc']).where('id', '=', invoiceId).executeTakeFirst();
  if (!row) throw new NotFoundError('invoice');
  const lines = openLines(scope, row.lines_enc);
  return { ...toSummary(row as InvoiceRow), lines, vatSummary: summariseVat(lines) };
}

/** Locks the invoice row for a change of state; 404 when the caller cannot see it. */
export async function lockInvoice(scope: TenantScope, invoiceId: string): Promise<InvoiceRow> {
  if (!isUuid(invoiceId)) throw new NotFoundError('invoice');
  const row = await scope.trx.selectFrom('portal_invoices').select(SUMMARY_COLUMNS).where('id', '=', invoiceId).forUpdate().executeTakeFirst();
  if (!row) throw new NotFoundError('invoice');
  return row as InvoiceRow;
}

/**
 * Cancels an outstanding invoice; a paid one stays paid (a refund happens at Stripe, then a credit
 * note). Returns the invoice and its latest Checkout Session, for the caller to close its payment
 * page once this commits (a payment that still arrives is refused by the webhook).
 */
export async function voidInvoice(scope: TenantScope, invoiceId: string): Promise<{ invoice: Invoice; checkoutSessionId: string | null }> {
  const row = await lockInvoice(scope, invoiceId);
  if (row.status === 'void') throw new ConflictError(`invoice ${row.number} is already void`);
  if (row.status === 'paid') throw new ConflictError(`invoice ${row.number} is paid and cannot be voided; refund the payment and issue a credit note instead`);
  const { checkout_session_id: checkoutSessionId } = await scope.trx
    .updateTable('portal_invoices')
    .set({ status: 'void', next_reminder_at: null })
    .where('id', '=', invoiceId)
    .returning('checkout_session_id')
    .executeTakeFirstOrThrow();
  await recordAudit(scope, {
    action: 'portal.invoice_voided',
    target: { type: 'portal_invoice', id: invoiceId },
    changes: { status: { before: 'outstanding', after: 'void' }, grossPence: { before: Number(row.gross_pence), after: Number(row.gross_pence) } },
  });
  return { invoice: await getInvoice(scope, invoiceId), checkoutSessionId };
}
