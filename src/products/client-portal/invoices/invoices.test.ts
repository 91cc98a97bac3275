import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../../platform/errors.ts';
import { createClient, deleteClient, type Client } from '../clients.ts';
import { invoiceExportRows } from './export.ts';
import { createInvoice, getInvoice, listInvoices, ukToday, voidInvoice, type CreateInvoiceInput } from './invoices.ts';
import { invoiceReceipt } from './receipt.ts';

let platform: TestPlatform;
let practice: TestOrganisation;
let school: TestOrganisation;
let hollis: Client;
let fenwick: Client;

const as = <T>(work: Parameters<typeof asSystem<T>>[2]) => asSystem(platform, practice.id, work);

const vatLines = [
  { description: 'Year-end accounts 2025', quantity: '1', unitPricePence: 120_000, vatRate: 'standard' },
  { description: 'Bookkeeping hours', quantity: '1.5', unitPricePence: 3_333, vatRate: 'standard' }, // 4,999.5p → 5,000p, VAT 1,000p
  { description: 'Companies House filing fee', quantity: 1, unitPricePence: 1_300, vatRate: 'outside-scope' },
];

const invoice = (over: Partial<CreateInvoiceInput> = {}): CreateInvoiceInput => ({ clientId: hollis.id, issuedOn: '2026-01-05', dueOn: '2026-02-04', lines: vatLines, ...over });

async function validationProblems(input: unknown): Promise<{ field: string; reason: string }[]> {
  const error = await as((scope) => createInvoice(platform.queue, scope, input as CreateInvoiceInput, 'http://custos.test')).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).errors ?? [];
}

const counts = () =>
  as(async (scope) => ({
    invoices: Number((await scope.trx.selectFrom('portal_invoices').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    audit: Number((await scope.trx.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
  }));

beforeAll(async () => {
  platform = await startTestPlatform();
  practice = await createTestOrganisation(platform, { kind: 'practice', name: 'Hartley Ledger LLP (test)' });
  school = await createTestOrganisation(platform, { kind: 'school' });
  hollis = await as((scope) => createClient(scope, { kind: 'company', name: 'Hollis & Marsh Ltd' }));
  fenwick = await as((scope) => createClient(scope, { kind: 'individual', name: 'Fenwick Baker' }));
});
afterAll(async () => platform?.close());

describe('raising invoices', () => {
  let firstId: string;

  it('prices the lines with VAT per line, numbers the invoice and seals what the lines say', async () => {
    const created = await as((scope) => createInvoice(platform.queue, scope, invoice(), 'http://custos.test'));
    firstId = created.id;
    expect(created).toMatchObject({
      clientId: hollis.id,
      number: 'INV-000001',
      status: 'outstanding',
      issuedOn: '2026-01-05',
      dueOn: '2026-02-04',
      netPence: 126_300,
      vatPence: 25_000,
      grossPence: 151_300,
      currency: 'gbp',
      paidAt: null,
      paymentReference: null,
    });
    expect(created.lines.map((l) => [l.quantity, l.netPence, l.vatPence, l.grossPence])).toEqual([
      ['1.00', 120_000, 24_000, 144_000],
      ['1.50', 5_000, 1_000, 6_000],
      ['1.00', 1_300, 0, 1_300],
    ]);
    expect(created.vatSummary).toEqual([
      { vatRate: 'standard', ratePercent: 20, netPence: 125_000, vatPence: 25_000 },
      { vatRate: 'outside-scope', ratePercent: 0, netPence: 1_300, vatPence: 0 },
    ]);
    const stored = await as((scope) => scope.trx.selectFrom('portal_invoices').select(['lines_enc', 'net_pence', 'gross_pence', 'next_reminder_at']).where('id', '=', firstId).executeTakeFirstOrThrow());
    expect(stored.lines_enc).toMatch(/^c1\./);
    expect(stored.lines_enc).not.toContain('Year-end');
    expect(Number(stored.gross_pence)).toBe(151_300);
    expect(stored.next_reminder_at).not.toBeNull();

    const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const second = await as((scope) => createInvoice(platform.queue, scope, invoice({ clientId: fenwick.id, issuedOn: undefined, dueOn: inAMonth }), 'http://custos.test'));
    expect(second.number).toBe('INV-000002');
    expect(second.issuedOn).toBe(ukToday());
  });

  it('takes a number given by hand, refuses it twice, and skips it when counting', async () => {
    expect((await as((scope) => createInvoice(platform.queue, scope, invoice({ number: 'INV-000003' }), 'http://custos.test'))).number).toBe('INV-000003');
    const before = await counts();
    const again = await as((scope) => createInvoice(platform.queue, scope, invoice({ number: 'INV-000003' }), 'http://custos.test')).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictError);
    expect((again as Error).message).toMatch(/INV-000003/);
    expect(await counts()).toEqual(before);
    expect((await as((scope) => createInvoice(platform.queue, scope, invoice(), 'http://custos.test'))).number).toBe('INV-000004');
  });

  it('never reuses a number, even once the client and its invoices are deleted', async () => {
    const gone = await as((scope) => createClient(scope, { kind: 'individual', name: 'Short Lived' }));
    expect((await as((scope) => createInvoice(platform.queue, scope, invoice({ clientId: gone.id }), 'http://custos.test'))).number).toBe('INV-000005');
    await as((scope) => deleteClient(platform.queue, scope, gone.id));
    expect((await as((scope) => createInvoice(platform.queue, scope, invoice(), 'http://custos.test'))).number).toBe('INV-000006');
  });

  it('names every bad field at once, lines by position, and writes nothing', async () => {
    const before = await counts();
    const problems = await validationProblems({
      clientId: 'nope',
      dueOn: '31/01/2026',
      lines: [
        { description: 'Payroll', quantity: '1', unitPricePence: 500, vatRate: 'luxury' },
        { description: 'Advice', quantity: '0.333', unitPricePence: 100, vatRate: 'standard' },
      ],
    });
    expect(problems.map((p) => p.field).sort()).toEqual(['clientId', 'dueOn', 'lines[0].vatRate', 'lines[1].quantity']);
    expect(problems.find((p) => p.field === 'lines[0].vatRate')!.reason).toMatch(/standard, reduced, zero, exempt, outside-scope/);
    expect((await validationProblems(invoice({ lines: [] }))).map((p) => p.field)).toEqual(['lines']);
    expect((await validationProblems(invoice({ dueOn: '2026-01-01' }))).map((p) => p.field)).toEqual(['dueOn']);
    expect((await validationProblems({ ...invoice(), colour: 'red' })).length).toBe(1);
    expect(await counts()).toEqual(before);
  });

  it('refuses a client the practice does not have, and an organisation that is not a practice', async () => {
    await expect(as((scope) => createInvoice(platform.queue, scope, invoice({ clientId: '00000000-0000-4000-8000-000000000000' }), 'http://custos.test'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(asSystem(platform, school.id, (scope) => createInvoice(platform.queue, scope, invoice(), 'http://custos.test'))).rejects.toBeInstanceOf(ConflictError);
  });

  it('audits amounts and numbers, never what the lines say', async () => {
    const entries = await as((scope) => scope.trx.selectFrom('audit_events').select(['action', 'changes']).where('target_id', '=', firstId).execute());
    expect(entries.map((e) => e.action)).toEqual(['portal.invoice_created']);
    expect(entries[0]!.changes).toMatchObject({ number: { after: 'INV-000001' }, grossPence: { after: 151_300 }, vatPence: { after: 25_000 }, lines: { after: 3 } });
    const all = JSON.stringify(await as((scope) => scope.trx.selectFrom('audit_events').select('changes').execute()));
    for (const line of vatLines) expect(all).not.toContain(line.description);
  });

  it('lists with filters (client, status, overdue) and voids an outstanding invoice once', async () => {
    const all = await as((scope) => listInvoices(scope));
    expect(all.total).toBe(5);
    expect((await as((scope) => listInvoices(scope, { clientId: fenwick.id }))).items.map((i) => i.number)).toEqual(['INV-000002']);
    // Due 2026-02-04 is past for any run of this test after that date; today's own invoice is not.
    const overdue = await as((scope) => listInvoices(scope, { overdue: true }));
    expect(overdue.items.every((i) => i.overdue && i.status === 'outstanding' && i.dueOn < ukToday())).toBe(true);
    const notOverdue = await as((scope) => listInvoices(scope, { overdue: false }));
    expect(overdue.total + notOverdue.total).toBe(5);

    const voided = await as((scope) => voidInvoice(scope, firstId));
    expect(voided).toEqual({ invoice: expect.objectContaining({ status: 'void', overdue: false }), checkoutSessionId: null });
    await expect(as((scope) => voidInvoice(scope, firstId))).rejects.toThrow(/already void/);
    expect((await as((scope) => listInvoices(scope, { status: 'void' }))).items.map((i) => i.id)).toEqual([firstId]);
    expect((await as((scope) => listInvoices(scope, { status: 'outstanding' }))).total).toBe(4);
    await expect(as((scope) => invoiceReceipt(scope, firstId))).rejects.toThrow(/not paid/);
    await expect(as((scope) => getInvoice(scope, 'not-a-uuid'))).rejects.toBeInstanceOf(NotFoundError);
    // Another organisation sees none of it.
    expect((await asSystem(platform, school.id, (scope) => listInvoices(scope))).total).toBe(0);
    await expect(asSystem(platform, school.id, (scope) => getInvoice(scope, firstId))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('gives the export its rows with client names opened and overdue spelt out', async () => {
    const rows = await as((scope) => invoiceExportRows(scope, { clientId: hollis.id }));
    expect(rows.map((r) => r.number)).toEqual(['INV-000001', 'INV-000003', 'INV-000004', 'INV-000006']);
    expect(rows[0]).toMatchObject({ client: 'Hollis & Marsh Ltd', status: 'void', grossPence: 151_300, issued: '2026-01-05' });
    expect(new Set(rows.slice(1).map((r) => r.status))).toEqual(new Set([ukToday() > '2026-02-04' ? 'overdue' : 'outstanding']));
  });
});
