import { sql } from 'kysely';
import { ConflictError } from '../../../platform/errors.ts';
import { isUuid, type TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { filtered, SUMMARY_COLUMNS, toSummary, ukToday, type InvoiceListQuery, type InvoiceRow } from './invoices.ts';

/** At most this many rows go into one export; filter by client or status for more. */
export const MAX_EXPORT_ROWS = 50_000;

export interface InvoiceExportRow {
  number: string;
  client: string;
  issued: string;
  due: string;
  status: string;
  netPence: number;
  vatPence: number;
  grossPence: number;
  paidAt: Date | null;
}

/** The rows of the Excel export, with client names opened; read inside the transaction, written after it. */
export async function invoiceExportRows(scope: TenantScope, query: Omit<InvoiceListQuery, 'limit' | 'offset'> = {}): Promise<InvoiceExportRow[]> {
  if (query.clientId !== undefined && !isUuid(query.clientId)) return [];
  const today = ukToday();
  const count = await filtered(scope, query, today).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  if (count.n > MAX_EXPORT_ROWS) throw new ConflictError(`the export would hold ${count.n} invoices, more than ${MAX_EXPORT_ROWS}; filter by client or status`);
  const rows = await filtered(scope, query, today).select(SUMMARY_COLUMNS).orderBy('issued_on').orderBy('number').execute();
  const names = new Map<string, string>();
  const clientIds = [...new Set(rows.map((r) => r.client_id))];
  for (let i = 0; i < clientIds.length; i += 1000) {
    const clients = await scope.trx.selectFrom('portal_clients').select(['id', 'name_enc']).where('id', 'in', clientIds.slice(i, i + 1000)).execute();
    for (const c of clients) names.set(c.id, scope.cipher.open('portal.client.name', c.name_enc));
  }
  return rows.map((r) => {
    const invoice = toSummary(r as InvoiceRow, today);
    return {
      number: invoice.number,
      client: names.get(invoice.clientId) ?? '',
      issued: invoice.issuedOn,
      due: invoice.dueOn,
      status: invoice.overdue ? 'overdue' : invoice.status,
      netPence: invoice.netPence,
      vatPence: invoice.vatPence,
      grossPence: invoice.grossPence,
      paidAt: invoice.paidAt ? new Date(invoice.paidAt) : null,
    };
  });
}
