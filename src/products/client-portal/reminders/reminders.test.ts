import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import type { MailMessage } from '../../../platform/mail/mail.ts';
import { cancelOrganisation } from '../../../platform/organisations/settings.ts';
import { systemMeta } from '../../../platform/tenancy/tenant-scope.ts';
import { addClientUser } from '../client-users.ts';
import { createClient } from '../clients.ts';
import { recordUpload } from '../documents/documents.ts';
import { scanHookFromSetting } from '../documents/intake/index.ts';
import { storeUpload } from '../documents/upload.ts';
import { getFlow, sendFlow } from '../flows/flows.ts';
import { signFlow } from '../flows/respond.ts';
import { addToBalance, freeSigningCredits } from '../practice.ts';
import { HOURLY_CRON, PORTAL_REMINDERS_JOB, registerReminderJobs } from './reminder-job.ts';
import { MAX_REMINDERS, runReminderPass } from './reminders.ts';

const DAY = 86_400_000;
const later = (ms: number) => new Date(Date.now() + ms);

let platform: TestPlatform;
let practice: TestOrganisation;
let neighbour: TestOrganisation;
let closed: TestOrganisation;
let clientId: string;
let signer: { id: string; email: string };
let bookkeeper: { id: string; email: string };
let documentId: string;

type Mail = MailMessage & { tenantId: string };
const seenJobs = new Set<string>();

/** Emails queued since the last call, opened with their practice's key (as the mail worker does). */
async function newMails(): Promise<Mail[]> {
  const jobs = await sql<{ id: string; data: { tenantId: string; sealed: string } }>`
    SELECT id, data FROM pgboss.job WHERE name = 'mail.send' ORDER BY created_on, id`.execute(platform.db.owner);
  const fresh = jobs.rows.filter((job) => !seenJobs.has(job.id));
  for (const job of fresh) seenJobs.add(job.id);
  return Promise.all(
    fresh.map(async (job) => ({
      tenantId: job.data.tenantId,
      ...(JSON.parse(await asSystem(platform, job.data.tenantId, async (scope) => scope.cipher.open('mail.message', job.data.sealed))) as MailMessage),
    })),
  );
}

const about = (mails: Mail[], id: string) => mails.filter((m) => m.text.includes(id));

async function addUser(tenantId: string, toClient: string): Promise<{ id: string; email: string }> {
  const email = fakePerson().email;
  const { userId } = await asSystem(platform, tenantId, (scope) => addClientUser(platform.queue, scope, toClient, { email }, platform.config.publicUrl));
  return { id: userId, email };
}

/** A flow row as the flow service leaves it, for setting up states the service cannot reach quickly. */
async function insertFlow(tenantId: string, values: { clientId: string; recipient: string; title: string; status?: 'pending' | 'approved' | 'signed' | 'cancelled'; nextReminderAt: Date | null; expiresAt?: Date | null }): Promise<string> {
  return asSystem(platform, tenantId, async (scope) => {
    const row = await scope.trx
      .insertInto('portal_flows')
      .values({
        tenant_id: tenantId,
        client_id: values.clientId,
        kind: 'approval',
        title_enc: scope.cipher.seal('portal.flow.title', values.title),
        message_enc: null,
        recipient_user_id: values.recipient,
        status: values.status ?? 'pending',
        response_enc: null,
        created_by: 'test',
        expires_at: values.expiresAt ?? null,
        completed_at: values.status && values.status !== 'pending' ? new Date() : null,
        next_reminder_at: values.nextReminderAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}

async function insertRequest(values: { title: string; recipient: string; dueAt: Date | null; nextReminderAt: Date | null; status?: 'sent' | 'completed' }): Promise<string> {
  return asSystem(platform, practice.id, async (scope) => {
    const row = await scope.trx
      .insertInto('portal_requests')
      .values({
        tenant_id: practice.id,
        client_id: clientId,
        kind: 'questionnaire',
        title: values.title,
        questions: JSON.stringify([{ id: 'q1', text: 'Did you sell any shares this year?' }]),
        answers_enc: null,
        recipient_user_id: values.recipient,
        status: values.status ?? 'sent',
        mtd_period: null,
        response_enc: null,
        created_by: 'test',
        due_at: values.dueAt,
        answered_at: null,
        completed_at: values.status === 'completed' ? new Date() : null,
        completed_by: null,
        next_reminder_at: values.nextReminderAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}

async function insertInvoice(values: { number: string; dueOn: string; nextReminderAt: Date | null; status?: 'issued' | 'paid' | 'void' }): Promise<string> {
  return asSystem(platform, practice.id, async (scope) => {
    const row = await scope.trx
      .insertInto('portal_invoices')
      .values({
        tenant_id: practice.id,
        client_id: clientId,
        number: values.number,
        status: values.status ?? 'issued',
        issued_on: '2026-01-05',
        due_on: values.dueOn,
        lines_enc: scope.cipher.seal('portal.invoice.lines', JSON.stringify([{ description: 'Year-end accounts', quantity: 100, unitPricePence: 120_000, vatRate: 'standard' }])),
        net_pence: 120_000,
        vat_pence: 24_000,
        gross_pence: 144_000,
        checkout_session_id: null,
        payment_intent_id: null,
        paid_at: values.status === 'paid' ? new Date() : null,
        created_by: 'test',
        next_reminder_at: values.nextReminderAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}

const flowRow = (tenantId: string, id: string) =>
  asSystem(platform, tenantId, (scope) => scope.trx.selectFrom('portal_flows').select(['status', 'reminders_sent', 'next_reminder_at', 'completed_at']).where('id', '=', id).executeTakeFirstOrThrow());
const reminderState = (table: 'portal_requests' | 'portal_invoices', id: string) =>
  asSystem(platform, practice.id, (scope) => scope.trx.selectFrom(table).select(['status', 'reminders_sent', 'next_reminder_at']).where('id', '=', id).executeTakeFirstOrThrow());
const timeline = async (id: string) => (await asSystem(platform, practice.id, (scope) => getFlow(scope, id))).timeline.map((e) => e.event);
const isoDate = (d: Date) => d.toISOString().slice(0, 10);

beforeAll(async () => {
  platform = await startTestPlatform({ poolSize: 6 });
  practice = await createTestOrganisation(platform, { kind: 'practice', name: 'Ledgerwise Accountants (test)' });
  neighbour = await createTestOrganisation(platform, { kind: 'practice' });
  closed = await createTestOrganisation(platform, { kind: 'practice' });
  clientId = (await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'company', name: 'Harbour Joinery Ltd' }))).id;
  signer = await addUser(practice.id, clientId);
  bookkeeper = await addUser(practice.id, clientId);
  const pdf = await PDFDocument.create();
  pdf.addPage([595, 842]);
  const cipher = await asSystem(platform, practice.id, async (scope) => scope.cipher);
  const stored = await storeUpload(platform.blobs, cipher, scanHookFromSetting(undefined), Readable.from([Buffer.from(await pdf.save())]), { declaredType: 'application/pdf', filename: 'accounts.pdf' });
  documentId = (await asSystem(platform, practice.id, (scope) => recordUpload(scope, stored, { clientId }))).document.id;
  await asSystem(platform, practice.id, (scope) => addToBalance(scope, { kind: 'signing', amount: 1, reason: 'test purchase', by: 'test' }));
  await newMails(); // the invitations
});
afterAll(async () => platform?.close());

describe('the reminder pass', () => {
  let flowId: string;
  let firstPass: Date;

  it('sends nothing while nothing is due', async () => {
    flowId = (await asSystem(platform, practice.id, (scope) =>
      sendFlow(platform.queue, scope, { clientId, kind: 'approval', title: 'Draft accounts 2025', recipientUserId: signer.id, documentIds: [documentId] }, platform.config.publicUrl),
    )).id;
    await newMails(); // the flow's own email
    const report = await runReminderPass(platform, new Date());
    expect(report).toMatchObject({ flowsReminded: 0, flowsExpired: 0, requestsReminded: 0, invoicesReminded: 0, emails: 0, failures: 0 });
    expect(await newMails()).toEqual([]);
  });

  it('reminds a flow once its reminder is due: exactly one email even when two passes run at once', async () => {
    // More flows than one, so that on PostgreSQL the two passes really do meet over the same rows.
    const more = await Promise.all(Array.from({ length: 8 }, (_, i) => insertFlow(practice.id, { clientId, recipient: bookkeeper.id, title: `Bank letter ${i}`, nextReminderAt: later(-60_000) })));
    firstPass = later(3 * DAY + 60_000);
    const reports = await Promise.all([runReminderPass(platform, firstPass), runReminderPass(platform, firstPass)]);
    expect(reports[0]!.flowsReminded + reports[1]!.flowsReminded).toBe(9);
    const mails = await newMails();
    expect(mails).toHaveLength(9);
    const mine = about(mails, flowId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ tenantId: practice.id, to: signer.email, subject: 'Reminder: Ledgerwise Accountants (test) is waiting for you to approve “Draft accounts 2025”' });
    expect(mine[0]!.text).toContain(`${platform.config.publicUrl}/portal/flows/${flowId}`);
    for (const id of more) expect(about(mails, id).map((m) => m.to)).toEqual([bookkeeper.email]);

    const row = await flowRow(practice.id, flowId);
    expect(row.reminders_sent).toBe(1);
    expect(new Date(row.next_reminder_at!).getTime()).toBe(firstPass.getTime() + 3 * DAY);
    expect(await timeline(flowId)).toEqual(['sent_for_approval', 'reminded']);

    await runReminderPass(platform, firstPass);
    expect(await newMails()).toEqual([]);
  });

  it('stops after five reminders', async () => {
    for (let n = 2; n <= MAX_REMINDERS + 2; n++) {
      await runReminderPass(platform, new Date(firstPass.getTime() + (n - 1) * 3 * DAY));
      expect(about(await newMails(), flowId)).toHaveLength(n <= MAX_REMINDERS ? 1 : 0);
    }
    const row = await flowRow(practice.id, flowId);
    expect(row).toMatchObject({ status: 'pending', reminders_sent: MAX_REMINDERS, next_reminder_at: null });
    expect((await timeline(flowId)).filter((e) => e === 'reminded')).toHaveLength(MAX_REMINDERS);
  });

  it('expires a pending flow past its expiry (no reminder for it) and it can no longer be signed', async () => {
    const flow = await asSystem(platform, practice.id, (scope) =>
      sendFlow(platform.queue, scope, { clientId, kind: 'signature', title: 'Engagement letter', recipientUserId: signer.id, documentIds: [documentId], expiresAt: later(2 * 3_600_000).toISOString() }, platform.config.publicUrl),
    );
    await newMails();
    expect(await asSystem(platform, practice.id, freeSigningCredits)).toBe(0);
    // Past its expiry and past its first reminder: it expires, and is not reminded.
    const report = await runReminderPass(platform, later(3 * DAY + 3_600_000));
    expect(report.flowsExpired).toBe(1);
    expect(about(await newMails(), flow.id)).toEqual([]);

    const row = await flowRow(practice.id, flow.id);
    expect(row).toMatchObject({ status: 'expired', reminders_sent: 0, next_reminder_at: null });
    expect(row.completed_at).not.toBeNull();
    expect(await timeline(flow.id)).toEqual(['sent_for_signature', 'expired']);
    const audit = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('audit_events').select(['actor_type', 'changes']).where('action', '=', 'portal.flow_expired').where('target_id', '=', flow.id).execute());
    expect(audit).toEqual([{ actor_type: 'system', changes: { status: { before: 'pending', after: 'expired' } } }]);
    // The credit it held is free again.
    expect(await asSystem(platform, practice.id, freeSigningCredits)).toBe(1);

    // Signing now, even before the expiry time by the clock, is refused: the flow is expired.
    const asSigner = { tenantId: practice.id, actor: { type: 'user' as const, id: signer.id }, meta: systemMeta('test') };
    await expect(platform.inTenant(asSigner, (scope) => signFlow(platform.blobs, scope, flow.id, { signature: { kind: 'typed', text: 'Sam Signer' }, consent: true }))).rejects.toThrow(/already expired/);
    expect(await runReminderPass(platform, later(30 * DAY))).toMatchObject({ flowsExpired: 0 });
  });

  it('reminds a request’s recipient, with overdue wording once it is past due (still sent)', async () => {
    const requestId = await insertRequest({ title: 'Year-end questionnaire', recipient: bookkeeper.id, dueAt: later(5 * DAY), nextReminderAt: later(-60_000) });
    const at = new Date();
    await runReminderPass(platform, at);
    const first = about(await newMails(), requestId);
    expect(first).toEqual([expect.objectContaining({ to: bookkeeper.email, subject: 'Reminder: Ledgerwise Accountants (test) is waiting for your answers to “Year-end questionnaire”' })]);
    expect(first[0]!.text).toContain(`/portal/requests/${requestId}`);
    expect(await reminderState('portal_requests', requestId)).toMatchObject({ status: 'sent', reminders_sent: 1 });
    // Written with a clear title, as before migration 0017: the pass has sealed it, and the next
    // reminder reads the sealed one.
    const stored = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('portal_requests').select(['title', 'title_enc']).where('id', '=', requestId).executeTakeFirstOrThrow());
    expect(stored.title).toBeNull();
    expect(stored.title_enc).not.toContain('Year-end');

    await runReminderPass(platform, new Date(at.getTime() + 6 * DAY));
    const second = about(await newMails(), requestId);
    expect(second).toEqual([expect.objectContaining({ to: bookkeeper.email, subject: 'Overdue: Ledgerwise Accountants (test) still needs your answers to “Year-end questionnaire”' })]);
    expect(second[0]!.text).toMatch(/That date has passed/);
    expect(await reminderState('portal_requests', requestId)).toMatchObject({ status: 'sent', reminders_sent: 2 });
  });

  it('reminds every active client user of an invoice, with overdue wording once past due (still issued)', async () => {
    const disabled = await addUser(practice.id, clientId);
    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('users').set({ status: 'disabled' }).where('id', '=', disabled.id).execute());
    await newMails();
    const invoiceId = await insertInvoice({ number: 'INV-2026-0042', dueOn: isoDate(later(2 * DAY)), nextReminderAt: later(-60_000) });
    const at = new Date();
    await runReminderPass(platform, at);
    const first = about(await newMails(), invoiceId);
    expect(first.map((m) => m.to).sort()).toEqual([signer.email, bookkeeper.email].sort());
    expect(first[0]!.subject).toBe('Reminder: invoice INV-2026-0042 from Ledgerwise Accountants (test) (£1,440.00)');
    expect(await reminderState('portal_invoices', invoiceId)).toMatchObject({ status: 'issued', reminders_sent: 1 });

    await runReminderPass(platform, new Date(at.getTime() + 3 * DAY + 60_000));
    const second = about(await newMails(), invoiceId);
    expect(second).toHaveLength(2);
    expect(second.every((m) => m.subject === 'Overdue: invoice INV-2026-0042 from Ledgerwise Accountants (test) (£1,440.00)')).toBe(true);
    expect(second[0]!.text).toMatch(/was due on .* and has not been paid yet/);
    expect(await reminderState('portal_invoices', invoiceId)).toMatchObject({ status: 'issued', reminders_sent: 2 });
  });

  it('leaves another practice’s rows alone, and a cancelled practice’s entirely', async () => {
    const neighbourClient = (await asSystem(platform, neighbour.id, (scope) => createClient(scope, { kind: 'individual', name: 'Pat Nextdoor' }))).id;
    const neighbourUser = await addUser(neighbour.id, neighbourClient);
    const closedClient = (await asSystem(platform, closed.id, (scope) => createClient(scope, { kind: 'individual', name: 'Lee Gone' }))).id;
    const closedUser = await addUser(closed.id, closedClient);
    await cancelOrganisation(platform, closed.id, systemMeta('test'));
    await newMails();

    const at = later(60 * DAY);
    const notYet = new Date(at.getTime() + DAY);
    const neighbourFlow = await insertFlow(neighbour.id, { clientId: neighbourClient, recipient: neighbourUser.id, title: 'Not yet', nextReminderAt: notYet });
    const closedFlow = await insertFlow(closed.id, { clientId: closedClient, recipient: closedUser.id, title: 'Closed practice', nextReminderAt: later(-DAY), expiresAt: later(-DAY) });
    const ours = await insertFlow(practice.id, { clientId, recipient: signer.id, title: 'Ours', nextReminderAt: later(-60_000) });

    await runReminderPass(platform, at);
    const mails = await newMails();
    expect(about(mails, ours)).toEqual([expect.objectContaining({ tenantId: practice.id, to: signer.email })]);
    expect(mails.filter((m) => m.tenantId !== practice.id)).toEqual([]);
    expect(await flowRow(neighbour.id, neighbourFlow)).toMatchObject({ status: 'pending', reminders_sent: 0, next_reminder_at: notYet });
    expect(await flowRow(closed.id, closedFlow)).toMatchObject({ status: 'pending', reminders_sent: 0 });
  });

  it('sends nothing for finished items, whatever their reminder column says', async () => {
    const stale = later(-DAY);
    const flows = await Promise.all(
      (['approved', 'signed', 'cancelled'] as const).map((status) => insertFlow(practice.id, { clientId, recipient: signer.id, title: `Done ${status}`, status, nextReminderAt: stale })),
    );
    const request = await insertRequest({ title: 'Answered already', recipient: signer.id, dueAt: null, nextReminderAt: stale, status: 'completed' });
    const invoices = [await insertInvoice({ number: 'INV-PAID-1', dueOn: '2026-01-31', nextReminderAt: stale, status: 'paid' }), await insertInvoice({ number: 'INV-VOID-1', dueOn: '2026-01-31', nextReminderAt: stale, status: 'void' })];
    await runReminderPass(platform, later(90 * DAY));
    const mails = await newMails();
    for (const id of [...flows, request, ...invoices]) expect(about(mails, id)).toEqual([]);
    for (const id of flows) expect((await flowRow(practice.id, id)).reminders_sent).toBe(0);
    expect((await reminderState('portal_requests', request)).reminders_sent).toBe(0);
    for (const id of invoices) expect((await reminderState('portal_invoices', id)).reminders_sent).toBe(0);
  });

  it('works through more due rows than one batch holds', async () => {
    const busyClient = (await asSystem(platform, neighbour.id, (scope) => createClient(scope, { kind: 'company', name: 'Many Letters Ltd' }))).id;
    const busyUser = await addUser(neighbour.id, busyClient);
    await newMails();
    const due = later(-60_000);
    await asSystem(platform, neighbour.id, (scope) =>
      scope.trx
        .insertInto('portal_flows')
        .values(Array.from({ length: 130 }, (_, i) => ({ tenant_id: neighbour.id, client_id: busyClient, kind: 'approval' as const, title_enc: scope.cipher.seal('portal.flow.title', `Letter ${i}`), message_enc: null, recipient_user_id: busyUser.id, response_enc: null, created_by: 'test', expires_at: null, completed_at: null, next_reminder_at: due })))
        .execute(),
    );
    const at = later(150 * DAY);
    await runReminderPass(platform, at);
    const mails = (await newMails()).filter((m) => m.to === busyUser.email);
    expect(mails).toHaveLength(130);
    expect(new Set(mails.map((m) => m.subject)).size).toBe(130);
    await runReminderPass(platform, at);
    expect((await newMails()).filter((m) => m.to === busyUser.email)).toEqual([]);
  });

  it.skipIf(!process.env.DATABASE_URL)('skips a row another server holds instead of waiting for it, and reminds it next time', async () => {
    const held = await insertFlow(practice.id, { clientId, recipient: signer.id, title: 'Held elsewhere', nextReminderAt: later(-60_000) });
    const at = later(120 * DAY);
    await platform.inTenant({ tenantId: practice.id, actor: { type: 'system', id: null }, meta: systemMeta('test') }, async (scope) => {
      await scope.trx.selectFrom('portal_flows').select('id').where('id', '=', held).forUpdate().execute();
      await runReminderPass(platform, at);
    });
    expect(about(await newMails(), held)).toEqual([]);
    await runReminderPass(platform, at);
    expect(about(await newMails(), held)).toHaveLength(1);
  });
});

describe('the hourly job', () => {
  it("tells the practice's admins, once, two weeks before a year of storage bought ends", async () => {
    const buy = (gb: number, endsIn: number) =>
      asSystem(platform, practice.id, async (scope) =>
        (
          await scope.trx
            .insertInto('portal_purchases')
            .values({ tenant_id: practice.id, kind: 'storage', quantity: gb, amount_pence: gb * 200, status: 'paid', paid_at: new Date(), expires_at: new Date(Date.now() + endsIn), created_by: 'test' })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id,
      );
    // Notices go to active administrators (the test's admin has only been invited so far).
    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('users').set({ status: 'active' }).where('id', '=', practice.adminUserId).execute());
    await newMails();
    await buy(2, 10 * DAY);
    await buy(5, 30 * DAY);
    const at = new Date();
    const report = await runReminderPass(platform, at);
    expect(report.storageTermsEnding).toBe(1);
    const first = (await newMails()).filter((m) => m.subject.includes('document storage'));
    expect(first).toEqual([expect.objectContaining({ to: practice.adminEmail, subject: expect.stringMatching(/^Ledgerwise Accountants \(test\): 2 GB of document storage ends on \d+ \w+ \d{4}$/) })]);
    expect(first[0]!.text).toContain('/portal/billing');

    // Once only; the other term is told when its own fortnight comes.
    expect((await runReminderPass(platform, new Date(at.getTime() + DAY))).storageTermsEnding).toBe(0);
    expect((await newMails()).filter((m) => m.subject.includes('document storage'))).toEqual([]);
    expect((await runReminderPass(platform, new Date(at.getTime() + 17 * DAY))).storageTermsEnding).toBe(1);
    expect((await newMails()).filter((m) => m.subject.includes('document storage')).map((m) => m.subject)).toEqual([expect.stringMatching(/: 5 GB of document storage ends on/)]);
  });

  it('is defined and scheduled every hour by a process that runs workers', async () => {
    await registerReminderJobs({ ...platform, runsWorkers: true });
    const schedules = await sql<{ name: string; cron: string }>`SELECT name, cron FROM pgboss.schedule WHERE name = ${PORTAL_REMINDERS_JOB}`.execute(platform.db.owner);
    expect(schedules.rows).toEqual([{ name: 'portal.reminders', cron: HOURLY_CRON }]);
    expect(HOURLY_CRON).toBe('0 * * * *');
    expect(await platform.queue.send(null, PORTAL_REMINDERS_JOB, {})).toEqual(expect.any(String));
  });
});
