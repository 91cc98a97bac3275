import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { buildServer } from '../../../http/server.ts';
import { bearer, expectProblem, testSession, type TestSession } from '../../../http/testing.ts';
import { addClientUser } from '../client-users.ts';
import { createClient, type Client } from '../clients.ts';
import { addToBalance } from '../practice.ts';

const run = promisify(execFile);

let platform: TestPlatform;
let app: FastifyInstance;
let practice: TestOrganisation;
let other: TestOrganisation;
let client: Client;
let neighbour: Client;
let signer: TestSession;
let signerId: string;
let outsider: TestSession;
let workDir: string;
let contractId: string;
let letterId: string;

async function letterPdf(title: string): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([595, 842]);
  page.drawText(title, { x: 72, y: 760, size: 18, font });
  page.drawText('Engagement terms for the 2025-26 tax year.', { x: 72, y: 730, size: 11, font });
  return Buffer.from(await doc.save());
}

const upload = async (clientId: string, pdf: Buffer, filename: string) => {
  const response = await app.inject({ method: 'POST', url: `/api/v1/portal/clients/${clientId}/documents?filename=${filename}`, headers: { ...bearer(practice.token), 'content-type': 'application/pdf' }, payload: pdf });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().document.id as string;
};

const send = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/v1/portal/flows', headers: bearer(practice.token), payload });
const credits = async () => (await app.inject({ url: '/api/v1/portal/practice/balance', headers: bearer(practice.token) })).json().signingCredits as number;

beforeAll(async () => {
  platform = await startTestPlatform();
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  practice = await createTestOrganisation(platform, { kind: 'practice', name: 'Fairweather & Co Accountants (test)' });
  other = await createTestOrganisation(platform, { kind: 'practice' });
  client = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Robin Ledger' }));
  neighbour = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Sam Neighbour' }));
  signerId = (await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, client.id, { email: fakePerson().email, displayName: 'Robin Ledger' }, 'http://x'))).userId;
  signer = await testSession(platform, practice.id, signerId, { mfaVerified: true });
  const outsiderId = (await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, neighbour.id, { email: fakePerson().email }, 'http://x'))).userId;
  outsider = await testSession(platform, practice.id, outsiderId, { mfaVerified: true });
  contractId = await upload(client.id, await letterPdf('Letter of engagement'), 'engagement.pdf');
  letterId = await upload(client.id, await letterPdf('Accounts approval'), 'accounts.pdf');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-flows-'));
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe('signature flows', () => {
  let flowId: string;
  let signedPdf: Buffer;

  it('refuses to send for signature without a free signing credit, or to someone who is not the client’s user', async () => {
    const noCredit = await send({ clientId: client.id, kind: 'signature', title: 'Engagement letter', recipientUserId: signerId, documentIds: [contractId] });
    expect(expectProblem(noCredit, 409).detail).toMatch(/no signing credits/);
    await asSystem(platform, practice.id, (scope) => addToBalance(scope, { kind: 'signing', amount: 2, reason: 'test purchase', by: 'test' }));
    const wrongPerson = await send({ clientId: neighbour.id, kind: 'signature', title: 'Engagement letter', recipientUserId: signerId, documentIds: [contractId] });
    expect(expectProblem(wrongPerson, 400).errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'recipientUserId' })]));
    const badInput = await send({ clientId: client.id, kind: 'signature', title: '', recipientUserId: signerId, documentIds: [] });
    expect(expectProblem(badInput, 400).errors!.map((e) => e.field).sort()).toEqual(['documentIds', 'title']);
  });

  it('sends a document for signature; the credit is promised, not spent', async () => {
    const sent = await send({ clientId: client.id, kind: 'signature', title: 'Engagement letter', message: 'Please sign by Friday.', recipientUserId: signerId, documentIds: [contractId] });
    expect(sent.statusCode, sent.body).toBe(201);
    flowId = sent.json().id;
    expect(sent.json()).toMatchObject({ status: 'pending', kind: 'signature', documents: [{ documentId: contractId, version: 1, signedVersion: null }] });
    expect(await credits()).toBe(2);
    const dashboard = (await app.inject({ url: '/api/v1/portal/flows/dashboard', headers: bearer(practice.token) })).json();
    expect(dashboard.pending).toBe(1);
  });

  it('lets only the recipient sign: not the practice, not another client’s user, not another practice', async () => {
    const body = { signature: { kind: 'typed', text: 'Robin Ledger' }, consent: true };
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${flowId}/signature`, headers: bearer(practice.token), payload: body }), 403);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${flowId}/signature`, headers: outsider.write, payload: body }), 404);
    expectProblem(await app.inject({ url: `/api/v1/portal/flows/${flowId}`, headers: outsider.read }), 404);
    expectProblem(await app.inject({ url: `/api/v1/portal/flows/${flowId}`, headers: bearer(other.token) }), 404);
    const noConsent = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${flowId}/signature`, headers: signer.write, payload: { signature: { kind: 'typed', text: 'Robin' } } });
    expect(expectProblem(noConsent, 400).errors).toEqual([expect.objectContaining({ field: 'consent' })]);
  });

  it('signs: a new signed version whose digital signature validates with pdfsig, one credit spent', async () => {
    const response = await app.inject({
      method: 'POST',
      url: `/api/v1/portal/flows/${flowId}/signature`,
      headers: { ...signer.write, 'user-agent': 'Mozilla/5.0 (flow test)' },
      payload: { signature: { kind: 'typed', text: 'Robin Ledger' }, consent: true },
    });
    expect(response.statusCode, response.body).toBe(200);
    const flow = response.json();
    expect(flow.status).toBe('signed');
    expect(flow.documents[0]).toMatchObject({ documentId: contractId, version: 1, signedVersion: 2, finalSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(flow.timeline.map((e: { event: string }) => e.event)).toEqual(['sent_for_signature', 'signed']);
    expect(await credits()).toBe(1);

    const download = await app.inject({ url: `/api/v1/portal/documents/${contractId}/content?version=2`, headers: signer.read });
    expect(download.statusCode).toBe(200);
    signedPdf = download.rawPayload;
    const file = path.join(workDir, 'signed.pdf');
    fs.writeFileSync(file, signedPdf);
    const checked = await run('/usr/bin/pdfsig', [file]).catch((e: { stdout: string }) => e);
    expect(checked.stdout).toContain('Signature Validation: Signature is Valid.');
    expect(checked.stdout).toContain('Total document signed');
    expect(checked.stdout).toContain('Fairweather & Co Accountants (test)');
    const text = (await run('/usr/bin/pdftotext', [file, '-'])).stdout;
    expect(text).toContain('Audit certificate');
    expect(text).toContain(flow.documents[0].originalSha256);
    expect(text).toContain('Robin Ledger');
  });

  it('the public verification says whether a file is exactly the signed document, and nothing else', async () => {
    const verify = (documentId: string, file: Buffer) =>
      app.inject({ method: 'POST', url: `/api/public/verify?documentId=${documentId}`, headers: { 'content-type': 'application/pdf' }, payload: file });
    const good = await verify(contractId, signedPdf);
    expect(good.json()).toMatchObject({ matches: true, practiceName: 'Fairweather & Co Accountants (test)', signedAt: expect.any(String) });
    const altered = Buffer.from(signedPdf);
    // A byte inside the signed range (the signature value itself sits far later in the file).
    altered[200] = altered[200]! ^ 0x01;
    expect((await verify(contractId, altered)).json()).toEqual({ matches: false, sha256: expect.any(String) });
    expect((await verify(letterId, signedPdf)).json().matches).toBe(false);
    expect(expectProblem(await verify('not-an-id', signedPdf), 400).errors).toEqual([expect.objectContaining({ field: 'documentId' })]);
    // The altered file also fails the standard tool.
    const file = path.join(workDir, 'altered.pdf');
    fs.writeFileSync(file, altered);
    const checked = await run('/usr/bin/pdfsig', [file]).catch((e: { stdout: string }) => e);
    expect(checked.stdout).not.toContain('Signature is Valid.');
  });

  it('gives the evidence pack its separate audit certificate, signed too', async () => {
    const response = await app.inject({ url: `/api/v1/portal/flows/${flowId}/documents/${contractId}/certificate`, headers: bearer(practice.token) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/pdf');
    const file = path.join(workDir, 'certificate.pdf');
    fs.writeFileSync(file, response.rawPayload);
    const text = (await run('/usr/bin/pdftotext', [file, '-'])).stdout;
    expect(text).toContain('Mozilla/5.0 (flow test)');
    expect(text).toMatch(/127\.0\.0\.1/);
    const checked = await run('/usr/bin/pdfsig', [file]).catch((e: { stdout: string }) => e);
    expect(checked.stdout).toContain('Signature is Valid.');
    expectProblem(await app.inject({ url: `/api/v1/portal/flows/${flowId}/documents/${contractId}/certificate`, headers: outsider.read }), 404);
  });

  it('a declined signature keeps its reason and spends no credit; a signed flow cannot be signed again', async () => {
    const sent = (await send({ clientId: client.id, kind: 'signature', title: 'Second letter', recipientUserId: signerId, documentIds: [letterId] })).json();
    const noReason = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${sent.id}/decline`, headers: signer.write, payload: {} });
    expect(expectProblem(noReason, 400).errors).toEqual([expect.objectContaining({ field: 'reason' })]);
    const declined = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${sent.id}/decline`, headers: signer.write, payload: { reason: 'The fee is not what we agreed.' } });
    expect(declined.json()).toMatchObject({ status: 'declined', response: 'The fee is not what we agreed.' });
    expect(await credits()).toBe(1);
    const again = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${flowId}/signature`, headers: signer.write, payload: { signature: { kind: 'typed', text: 'Robin' }, consent: true } });
    expect(expectProblem(again, 409).detail).toMatch(/already signed/);
  });
});

describe('approval flows', () => {
  it('approves, or rejects with a required comment; expiry and cancellation end a flow', async () => {
    const sent = (await send({ clientId: client.id, kind: 'approval', title: 'Draft accounts', recipientUserId: signerId, documentIds: [letterId] })).json();
    // The recipient's first opening is evidence; the practice looking, or a second opening, adds nothing.
    await app.inject({ url: `/api/v1/portal/flows/${sent.id}`, headers: bearer(practice.token) });
    await app.inject({ url: `/api/v1/portal/flows/${sent.id}`, headers: signer.read });
    const opened = (await app.inject({ url: `/api/v1/portal/flows/${sent.id}`, headers: signer.read })).json();
    expect(opened.timeline.map((e: { event: string }) => e.event)).toEqual(['sent_for_approval', 'viewed']);
    expect((await app.inject({ url: '/api/v1/portal/flows?mine=true&status=pending', headers: signer.read })).json().flows.map((f: { id: string }) => f.id)).toContain(sent.id);
    expect((await app.inject({ url: '/api/v1/portal/flows?mine=true', headers: bearer(practice.token) })).json().flows).toEqual([]);
    const bare = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${sent.id}/response`, headers: signer.write, payload: { decision: 'reject' } });
    expect(expectProblem(bare, 400).errors).toEqual([expect.objectContaining({ field: 'comment' })]);
    const rejected = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${sent.id}/response`, headers: signer.write, payload: { decision: 'reject', comment: 'Turnover figure is wrong.' } });
    expect(rejected.json()).toMatchObject({ status: 'rejected', response: 'Turnover figure is wrong.' });

    const second = (await send({ clientId: client.id, kind: 'approval', title: 'Corrected accounts', recipientUserId: signerId, documentIds: [letterId] })).json();
    const approved = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${second.id}/response`, headers: signer.write, payload: { decision: 'approve' } });
    expect(approved.json().status).toBe('approved');

    const expiring = (await send({ clientId: client.id, kind: 'approval', title: 'Old request', recipientUserId: signerId, documentIds: [letterId], expiresAt: new Date(Date.now() + 60_000).toISOString() })).json();
    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('portal_flows').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expiring.id).execute());
    const late = await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${expiring.id}/response`, headers: signer.write, payload: { decision: 'approve' } });
    expect(expectProblem(late, 409).detail).toMatch(/expired/);

    const withdrawn = (await send({ clientId: client.id, kind: 'approval', title: 'Sent by mistake', recipientUserId: signerId, documentIds: [letterId] })).json();
    expect((await app.inject({ method: 'POST', url: `/api/v1/portal/flows/${withdrawn.id}/cancel`, headers: bearer(practice.token) })).json().status).toBe('cancelled');

    const mine = (await app.inject({ url: '/api/v1/portal/flows', headers: signer.read })).json().flows;
    expect(mine.length).toBeGreaterThanOrEqual(5);
    expect((await app.inject({ url: '/api/v1/portal/flows', headers: outsider.read })).json().flows).toEqual([]);
    const dashboard = (await app.inject({ url: '/api/v1/portal/flows/dashboard', headers: bearer(practice.token) })).json();
    expect(dashboard).toMatchObject({ signed: 1, declined: 1, rejected: 1, approved: 1, cancelled: 1, pending: 1 });
  });
});
