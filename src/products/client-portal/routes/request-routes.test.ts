import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { buildServer } from '../../../http/server.ts';
import { bearer, expectProblem, testSession, type TestSession } from '../../../http/testing.ts';
import { addClientUser } from '../client-users.ts';
import { createClient, type Client } from '../clients.ts';
import { pdf } from '../documents/intake/testing/samples.ts';
import { SELF_ASSESSMENT_CHECKLIST } from '../requests/built-in-templates.ts';
import { runMtdQuarterPass } from '../requests/mtd.ts';
import { requestsTrx } from '../requests/tables.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let practice: TestOrganisation;
let other: TestOrganisation;
let client: Client;
let neighbour: Client;
let clientUserId: string;
let clientUser: TestSession;
let outsider: TestSession;
let otherClientDocument: string;

const staff = () => bearer(practice.token);
const inject = (method: string, url: string, headers: Record<string, string>, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
const addUser = async (org: TestOrganisation, clientId: string) =>
  (await asSystem(platform, org.id, (scope) => addClientUser(platform.queue, scope, clientId, { email: fakePerson().email }, 'http://x'))).userId;
const uploadAs = async (headers: Record<string, string>, clientId: string, filename: string) => {
  const response = await app.inject({ method: 'POST', url: `/api/v1/portal/clients/${clientId}/documents?filename=${filename}`, headers: { ...headers, 'content-type': 'application/pdf' }, payload: pdf() });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().document.id as string;
};
/** Mail jobs queued for a practice (sealed: only their number can be seen). */
const mailsQueued = async (tenantId: string) =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'mail.send' AND data->>'tenantId' = ${tenantId}`.execute(platform.db.owner)).rows[0]!.n;

beforeAll(async () => {
  platform = await startTestPlatform();
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  practice = await createTestOrganisation(platform, { kind: 'practice' });
  other = await createTestOrganisation(platform, { kind: 'practice' });
  client = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Robin Ledger' }));
  neighbour = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Sam Neighbour' }));
  clientUserId = await addUser(practice, client.id);
  clientUser = await testSession(platform, practice.id, clientUserId, { mfaVerified: true });
  outsider = await testSession(platform, practice.id, await addUser(practice, neighbour.id), { mfaVerified: true });
  otherClientDocument = await uploadAs(staff(), neighbour.id, 'neighbour.pdf');
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('request templates', () => {
  it('offers the built-in self-assessment checklist beside the practice’s own templates, which staff manage', async () => {
    const listed = (await inject('GET', '/api/v1/portal/request-templates', staff())).json().templates;
    expect(listed[0]).toMatchObject({ id: SELF_ASSESSMENT_CHECKLIST.id, name: 'Self-assessment year-end checklist', builtIn: true });
    const kinds = new Set(listed[0].sections.flatMap((s: { questions: { kind: string }[] }) => s.questions.map((q) => q.kind)));
    expect([...kinds].sort()).toEqual(['choice', 'date', 'documents', 'money', 'text', 'yes-no']);

    const bad = await inject('POST', '/api/v1/portal/request-templates', staff(), {
      name: 'Rental income',
      sections: [{ title: 'Rent', questions: [{ id: 'rent', text: 'Rent received', kind: 'money' }, { id: 'agent', text: 'Letting agent?', kind: 'choice' }, { id: 'rent', text: 'Again', kind: 'text' }] }],
    });
    expect(expectProblem(bad, 400).errors!.map((e) => e.field).sort()).toEqual(['sections.0.questions.1.options', 'sections.0.questions.2.id']);
    const created = await inject('POST', '/api/v1/portal/request-templates', staff(), {
      name: 'Rental income',
      sections: [{ title: 'Rent', questions: [{ id: 'rent', text: 'Rent received', kind: 'money', required: true }, { id: 'agent', text: 'Who manages it?', kind: 'choice', options: ['Me', 'An agent'] }] }],
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    expectProblem(await inject('POST', '/api/v1/portal/request-templates', staff(), { name: 'Rental income', sections: created.json().sections }), 409);
    const renamed = await inject('PUT', `/api/v1/portal/request-templates/${id}`, staff(), { name: 'Landlord questions', sections: created.json().sections });
    expect(renamed.json()).toMatchObject({ id, name: 'Landlord questions', builtIn: false });
    expectProblem(await inject('PUT', `/api/v1/portal/request-templates/${SELF_ASSESSMENT_CHECKLIST.id}`, staff(), { name: 'Mine', sections: created.json().sections }), 409);
    expectProblem(await inject('DELETE', `/api/v1/portal/request-templates/${SELF_ASSESSMENT_CHECKLIST.id}`, staff()), 409);

    // Client users do not manage templates; another practice sees only the built-in ones.
    expectProblem(await inject('GET', '/api/v1/portal/request-templates', clientUser.read), 403);
    expectProblem(await inject('GET', `/api/v1/portal/request-templates/${id}`, bearer(other.token)), 404);
    expectProblem(await inject('DELETE', `/api/v1/portal/request-templates/${id}`, bearer(other.token)), 404);
    expect((await inject('GET', '/api/v1/portal/request-templates', bearer(other.token))).json().templates.map((t: { id: string }) => t.id)).toEqual([SELF_ASSESSMENT_CHECKLIST.id]);

    expect((await inject('DELETE', `/api/v1/portal/request-templates/${id}`, staff())).statusCode).toBe(204);
    expectProblem(await inject('GET', `/api/v1/portal/request-templates/${id}`, staff()), 404);
  });
});

describe('a self-assessment questionnaire, end to end', () => {
  let requestId: string;
  let p60: string;

  it('is sent from the built-in template to one of the client’s users, with an email', async () => {
    const wrongPerson = await inject('POST', '/api/v1/portal/requests', staff(), { clientId: neighbour.id, recipientUserId: clientUserId, templateId: SELF_ASSESSMENT_CHECKLIST.id });
    expect(expectProblem(wrongPerson, 400).errors).toEqual([expect.objectContaining({ field: 'recipientUserId' })]);
    const badTemplate = await inject('POST', '/api/v1/portal/requests', staff(), { clientId: client.id, recipientUserId: clientUserId, templateId: 'no-such-template' });
    expect(expectProblem(badTemplate, 400).errors).toEqual([expect.objectContaining({ field: 'templateId' })]);
    const before = await mailsQueued(practice.id);
    const sent = await inject('POST', '/api/v1/portal/requests', staff(), {
      clientId: client.id,
      recipientUserId: clientUserId,
      templateId: SELF_ASSESSMENT_CHECKLIST.id,
      title: 'Your 2025-26 tax return',
      message: 'Please have this back to us before the end of the month.',
      dueOn: '2099-01-31',
    });
    expect(sent.statusCode, sent.body).toBe(201);
    requestId = sent.json().id;
    expect(sent.json()).toMatchObject({ kind: 'questionnaire', status: 'sent', title: 'Your 2025-26 tax return', answers: {}, mtd: null, dueAt: '2099-01-31T23:59:59.000Z' });
    expect(sent.json().sections).toEqual(JSON.parse(JSON.stringify(SELF_ASSESSMENT_CHECKLIST.sections)));
    expect(await mailsQueued(practice.id)).toBe(before + 1);
  });

  it('lets the client save a draft, checked by kind but not for completeness', async () => {
    const wrongKinds = await inject('PUT', `/api/v1/portal/requests/${requestId}/answers`, clientUser.write, { answers: { turnover: 12.5, 'business-started-or-ended': '31/12/2025', employed: 'yes', 'tax-payment': 'Cash', nonsense: 1 } });
    expect(expectProblem(wrongKinds, 400).errors!.map((e) => e.field).sort()).toEqual([
      'answers.business-started-or-ended',
      'answers.employed',
      'answers.nonsense',
      'answers.tax-payment',
      'answers.turnover',
    ]);
    const saved = await inject('PUT', `/api/v1/portal/requests/${requestId}/answers`, clientUser.write, { answers: { employed: true, employers: 'Harbour Ledger Ltd', 'bank-interest': 4_210 } });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toMatchObject({ status: 'sent', answers: { employed: true, employers: 'Harbour Ledger Ltd', 'bank-interest': 4210 } });
    // Only the person it was sent to answers it.
    expectProblem(await inject('PUT', `/api/v1/portal/requests/${requestId}/answers`, staff(), { answers: {} }), 403);
  });

  it('refuses a submission missing a required answer, naming the question, and writes nothing', async () => {
    const missing = await inject('POST', `/api/v1/portal/requests/${requestId}/submit`, clientUser.write, {});
    const fields = expectProblem(missing, 400).errors!.map((e) => e.field).sort();
    expect(fields).toEqual(['answers.details-changed', 'answers.disposals', 'answers.property', 'answers.self-employed']);
    const stored = (await inject('GET', `/api/v1/portal/requests/${requestId}`, clientUser.read)).json();
    expect(stored).toMatchObject({ status: 'sent', answeredAt: null, answers: { employed: true } });
  });

  it('submits with an uploaded P60 linked to its question; documents from another client’s area are refused', async () => {
    p60 = await uploadAs(clientUser.write, client.id, 'p60.pdf');
    const answers = { 'details-changed': false, employed: true, 'self-employed': false, property: false, disposals: false, 'bank-interest': 4_210, 'tax-payment': 'A budget payment plan', p60: [p60] };
    const foreign = await inject('POST', `/api/v1/portal/requests/${requestId}/submit`, clientUser.write, { answers: { ...answers, p11d: [otherClientDocument] } });
    expect(expectProblem(foreign, 400).errors).toEqual([expect.objectContaining({ field: 'answers.p11d' })]);
    const submitted = await inject('POST', `/api/v1/portal/requests/${requestId}/submit`, clientUser.write, { answers });
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect(submitted.json()).toMatchObject({ status: 'answered', answeredAt: expect.any(String), answers: { ...answers, p60: [p60] }, documents: [{ questionId: 'p60', documentId: p60, title: 'p60.pdf' }] });
    expectProblem(await inject('PUT', `/api/v1/portal/requests/${requestId}/answers`, clientUser.write, { answers: {} }), 409);
  });

  it('keeps answers and the title sealed in the database and out of the audit trail', async () => {
    const row = await asSystem(platform, practice.id, (scope) => requestsTrx(scope).selectFrom('portal_requests').select(['answers_enc', 'message_enc', 'title', 'title_enc']).where('id', '=', requestId).executeTakeFirstOrThrow());
    expect(row.answers_enc).toMatch(/^c1\./);
    expect(row.message_enc).toMatch(/^c1\./);
    expect(row.title).toBeNull();
    expect(row.title_enc).toMatch(/^c1\./);
    expect((await inject('GET', `/api/v1/portal/requests/${requestId}`, staff())).json().title).toBe('Your 2025-26 tax return');
    const trail = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('audit_events').selectAll().where('target_id', '=', requestId).execute());
    expect(trail.map((e) => e.action)).toEqual(expect.arrayContaining(['portal.request_sent', 'portal.request_draft_saved', 'portal.request_answered']));
    expect(JSON.stringify(trail)).not.toMatch(/Harbour Ledger|budget payment|4210/);
  });

  it('staff send it back with a comment, the client answers again, staff complete it', async () => {
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/send-back`, staff(), {}), 400);
    const back = await inject('POST', `/api/v1/portal/requests/${requestId}/send-back`, staff(), { comment: 'Please upload your P11D too.' });
    expect(back.json()).toMatchObject({ status: 'sent', reviewComment: 'Please upload your P11D too.', answers: { employed: true, p60: [p60] } });
    const p11d = await uploadAs(clientUser.write, client.id, 'p11d.pdf');
    const draft = (await inject('GET', `/api/v1/portal/requests/${requestId}`, clientUser.read)).json().answers;
    await inject('PUT', `/api/v1/portal/requests/${requestId}/answers`, clientUser.write, { answers: { ...draft, p11d: [p11d] } });
    const again = await inject('POST', `/api/v1/portal/requests/${requestId}/submit`, clientUser.write);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().documents.map((d: { questionId: string }) => d.questionId).sort()).toEqual(['p11d', 'p60']);
    const completed = await inject('POST', `/api/v1/portal/requests/${requestId}/complete`, staff());
    expect(completed.json()).toMatchObject({ status: 'completed', completedAt: expect.any(String), completedBy: expect.stringMatching(/^api_token:/) });
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/complete`, staff()), 409);
  });

  it('is not there for another client’s user, nor for another practice', async () => {
    expectProblem(await inject('GET', `/api/v1/portal/requests/${requestId}`, outsider.read), 404);
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/submit`, outsider.write, {}), 404);
    expect((await inject('GET', '/api/v1/portal/requests', outsider.read)).json().requests).toEqual([]);
    expectProblem(await inject('GET', `/api/v1/portal/requests/${requestId}`, bearer(other.token)), 404);
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/send-back`, bearer(other.token), { comment: 'x' }), 404);
    expect((await inject('GET', '/api/v1/portal/requests', bearer(other.token))).json().requests).toEqual([]);
    const planted = await inject('POST', '/api/v1/portal/requests', bearer(other.token), { clientId: client.id, recipientUserId: clientUserId, templateId: SELF_ASSESSMENT_CHECKLIST.id });
    expectProblem(planted, 404);
    const mine = (await inject('GET', '/api/v1/portal/requests', clientUser.read)).json().requests;
    expect(mine.map((r: { id: string }) => r.id)).toContain(requestId);
  });

  it('lets the client decline with a reason, and staff cancel what is still open', async () => {
    const send = async () => (await inject('POST', '/api/v1/portal/requests', staff(), { clientId: client.id, recipientUserId: clientUserId, templateId: SELF_ASSESSMENT_CHECKLIST.id })).json().id as string;
    const declinedId = await send();
    expect(expectProblem(await inject('POST', `/api/v1/portal/requests/${declinedId}/decline`, clientUser.write, {}), 400).errors).toEqual([expect.objectContaining({ field: 'reason' })]);
    const declined = await inject('POST', `/api/v1/portal/requests/${declinedId}/decline`, clientUser.write, { reason: 'Another firm does my return this year.' });
    expect(declined.json()).toMatchObject({ status: 'declined', response: 'Another firm does my return this year.' });
    const cancelledId = await send();
    expect((await inject('POST', `/api/v1/portal/requests/${cancelledId}/cancel`, staff())).json().status).toBe('cancelled');
    expectProblem(await inject('POST', `/api/v1/portal/requests/${cancelledId}/submit`, clientUser.write, {}), 409);
  });
});

describe('Making Tax Digital quarterly updates', () => {
  let mtd: Client;
  let mtdUser: TestSession;
  let mtdUserId: string;
  let mtdNoUser: Client;
  let otherMtd: Client;

  const quarterRequests = async (tenantId: string) =>
    asSystem(platform, tenantId, (scope) => scope.trx.selectFrom('portal_requests').select(['id', 'client_id', 'mtd_period', 'due_at', 'recipient_user_id', 'status']).where('kind', '=', 'mtd_quarter').orderBy('mtd_period').execute());

  beforeAll(async () => {
    mtd = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Morgan Landlord', mtdItsa: true }));
    mtdUserId = await addUser(practice, mtd.id);
    mtdUser = await testSession(platform, practice.id, mtdUserId, { mfaVerified: true });
    mtdNoUser = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Alex Nouser', mtdItsa: true }));
    otherMtd = await asSystem(platform, other.id, (scope) => createClient(scope, { kind: 'individual', name: 'Jo Elsewhere', mtdItsa: true }));
    await addUser(other, otherMtd.id);
  });

  it('creates one request per MTD client with a client user once the quarter has ended, due on HMRC’s deadline; again: none', async () => {
    expect(await runMtdQuarterPass(platform, { today: '2026-07-05' })).toEqual({ period: null, created: 0 });
    expect(await runMtdQuarterPass(platform, { today: '2026-07-06' })).toEqual({ period: '2026-27-Q1', created: 2 });
    expect(await runMtdQuarterPass(platform, { today: '2026-07-07' })).toEqual({ period: '2026-27-Q1', created: 0 });
    const ours = await quarterRequests(practice.id);
    // Not the client without a client user, nor the clients not in MTD.
    expect(ours).toEqual([expect.objectContaining({ client_id: mtd.id, mtd_period: '2026-27-Q1', recipient_user_id: mtdUserId, status: 'sent' })]);
    expect(new Date(ours[0]!.due_at!).toISOString()).toBe('2026-08-07T22:59:59.000Z');
    expect((await quarterRequests(other.id)).map((r) => r.client_id)).toEqual([otherMtd.id]);
    expect(await runMtdQuarterPass(platform, { today: '2026-08-08' })).toEqual({ period: null, created: 0 });
    void mtdNoUser;
  });

  it('takes figures before the quarter’s request exists; the client approves or rejects them', async () => {
    const figures = { income: [{ category: 'Rent received', amountPence: 1_260_000 }], expenses: [{ category: 'Letting agent fees', amountPence: 151_200 }, { category: 'Repairs', amountPence: 40_000 }] };
    const badPeriod = await inject('PUT', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-Q2`, staff(), figures);
    expect(expectProblem(badPeriod, 400).errors).toEqual([expect.objectContaining({ field: 'period' })]);
    const badFigures = await inject('PUT', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, staff(), { income: [{ category: 'Rent', amountPence: 99.5 }], expenses: [] });
    expect(expectProblem(badFigures, 400).errors).toEqual([expect.objectContaining({ field: 'income.0.amountPence' })]);
    expectProblem(await inject('PUT', `/api/v1/portal/clients/${client.id}/mtd-summaries/2026-27-Q2`, staff(), figures), 409);
    expectProblem(await inject('PUT', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, bearer(other.token), figures), 404);

    const early = await inject('PUT', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, staff(), figures);
    expect(early.json()).toMatchObject({ revision: 1, requestId: null, summary: { totalIncomePence: 1_260_000, totalExpensesPence: 191_200, netPence: 1_068_800 } });
    const mailsBefore = await mailsQueued(practice.id);
    // This practice's MTD client and the other practice's.
    expect(await runMtdQuarterPass(platform, { today: '2026-10-06' })).toEqual({ period: '2026-27-Q2', created: 2 });
    expect(await mailsQueued(practice.id)).toBe(mailsBefore + 1);
    const requestId = (await quarterRequests(practice.id)).find((r) => r.mtd_period === '2026-27-Q2')!.id;

    const seen = (await inject('GET', `/api/v1/portal/requests/${requestId}`, mtdUser.read)).json();
    expect(seen).toMatchObject({ kind: 'mtd_quarter', mtdPeriod: '2026-27-Q2', mtd: { start: '2026-07-06', end: '2026-10-05', deadline: '2026-11-07', taxYearStart: '2026-04-06', summaryRevision: 1, decision: null } });
    expect(seen.mtd.summary.expenses).toHaveLength(2);

    const noComment = await inject('POST', `/api/v1/portal/requests/${requestId}/summary-decision`, mtdUser.write, { decision: 'reject', summaryRevision: 1 });
    expect(expectProblem(noComment, 400).errors).toEqual([expect.objectContaining({ field: 'comment' })]);
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/summary-decision`, mtdUser.write, { decision: 'approve', summaryRevision: 7 }), 409);
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/summary-decision`, outsider.write, { decision: 'approve', summaryRevision: 1 }), 404);
    expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/submit`, mtdUser.write, {}), 409);

    const rejected = await inject('POST', `/api/v1/portal/requests/${requestId}/summary-decision`, mtdUser.write, { decision: 'reject', summaryRevision: 1, comment: 'The repairs were £520, not £400.' });
    expect(rejected.json()).toMatchObject({ status: 'answered', response: 'The repairs were £520, not £400.', mtd: { decision: 'rejected', decidedRevision: 1 } });
    expect(expectProblem(await inject('POST', `/api/v1/portal/requests/${requestId}/complete`, staff()), 409).detail).toMatch(/rejected/);

    const corrected = await inject('PUT', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, staff(), { ...figures, expenses: [figures.expenses[0], { category: 'Repairs', amountPence: 52_000 }] });
    expect(corrected.json()).toMatchObject({ revision: 2, requestId });
    const reopened = (await inject('GET', `/api/v1/portal/requests/${requestId}`, mtdUser.read)).json();
    expect(reopened).toMatchObject({ status: 'sent', mtd: { decision: null, summaryRevision: 2, summary: { totalExpensesPence: 203_200 } } });

    const approved = await inject('POST', `/api/v1/portal/requests/${requestId}/summary-decision`, mtdUser.write, { decision: 'approve', summaryRevision: 2 });
    expect(approved.json()).toMatchObject({ status: 'answered', mtd: { decision: 'approved', decidedRevision: 2 } });
    expect((await inject('POST', `/api/v1/portal/requests/${requestId}/complete`, staff())).json().status).toBe('completed');
    expectProblem(await inject('PUT', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, staff(), figures), 409);

    const sealed = await asSystem(platform, practice.id, (scope) => sql<{ summary_enc: string }>`SELECT summary_enc FROM portal_mtd_summaries WHERE client_id = ${mtd.id}`.execute(scope.trx));
    expect(sealed.rows[0]!.summary_enc).toMatch(/^c1\./);
    expectProblem(await inject('GET', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, bearer(other.token)), 404);
    expect((await inject('GET', `/api/v1/portal/clients/${mtd.id}/mtd-summaries/2026-27-Q2`, staff())).json()).toMatchObject({ revision: 2, requestId });
  });

  it('asks for figures the practice has not entered yet: the client cannot approve nothing', async () => {
    const q1 = (await quarterRequests(practice.id)).find((r) => r.mtd_period === '2026-27-Q1')!.id;
    const early = await inject('POST', `/api/v1/portal/requests/${q1}/summary-decision`, mtdUser.write, { decision: 'approve', summaryRevision: 1 });
    expect(expectProblem(early, 409).detail).toMatch(/not entered the figures/);
  });
});
