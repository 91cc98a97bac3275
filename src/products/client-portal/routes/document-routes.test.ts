import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../../test/harness.ts';
import { buildServer } from '../../../http/server.ts';
import { bearer, expectProblem, testSession, type TestSession } from '../../../http/testing.ts';
import { addClientUser } from '../client-users.ts';
import { createClient, type Client } from '../clients.ts';
import { EICAR, startFakeClamd, type FakeClamd } from '../documents/intake/testing/clamd-server.ts';
import { pdf, png } from '../documents/intake/testing/samples.ts';

let clamd: FakeClamd;
let platform: TestPlatform;
let app: FastifyInstance;
let practice: TestOrganisation;
let other: TestOrganisation;
let mine: Client;
let theirs: Client;
let clientUser: TestSession;

const upload = (clientId: string, body: Buffer, headers: Record<string, string>, query = 'filename=Accounts%202025.pdf') =>
  app.inject({ method: 'POST', url: `/api/v1/portal/clients/${clientId}/documents?${query}`, headers: { 'content-type': 'application/pdf', ...headers }, payload: body });

/** Encrypted blob files of the practice on disk (the store's folder per tenant). */
const blobFiles = () => {
  const folder = path.join(platform.config.dataDir, 'blobs', practice.id);
  return fs.existsSync(folder) ? fs.readdirSync(folder).length : 0;
};

beforeAll(async () => {
  clamd = await startFakeClamd({ transport: 'tcp' });
  platform = await startTestPlatform({ env: { CLAMAV_SOCKET: clamd.setting } });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  practice = await createTestOrganisation(platform, { kind: 'practice' });
  other = await createTestOrganisation(platform, { kind: 'practice' });
  mine = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Pat Example' }));
  theirs = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'company', name: 'Other Client Ltd' }));
  const added = await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, mine.id, { email: fakePerson().email }, 'http://x'));
  clientUser = await testSession(platform, practice.id, added.userId, { mfaVerified: true });
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
  await clamd?.close();
});

describe('portal documents over HTTP', () => {
  let documentId: string;
  const original = pdf();

  it('uploads a PDF, scanned, encrypted at rest, and downloads the same bytes with safe headers', async () => {
    const response = await upload(mine.id, original, bearer(practice.token), 'filename=Accounts%202025.pdf&title=Year-end%20accounts');
    expect(response.statusCode, response.body).toBe(201);
    const { document, version } = response.json();
    documentId = document.id;
    expect(document).toMatchObject({ clientId: mine.id, title: 'Year-end accounts', latestVersion: 1 });
    expect(version).toMatchObject({ version: 1, filename: 'Accounts 2025.pdf', contentType: 'application/pdf', sizeBytes: original.length, scan: 'clean' });
    expect(clamd.seen.scans).toBeGreaterThan(0);

    const stored = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('portal_document_versions').select('blob_id').where('document_id', '=', documentId).executeTakeFirstOrThrow());
    const onDisk = fs.readFileSync(path.join(platform.config.dataDir, 'blobs', practice.id, stored.blob_id));
    expect(onDisk.includes(original.subarray(0, 32))).toBe(false);

    const download = await app.inject({ url: `/api/v1/portal/documents/${documentId}/content`, headers: bearer(practice.token) });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(original)).toBe(true);
    expect(download.headers['content-type']).toBe('application/pdf');
    expect(download.headers['content-disposition']).toBe(`attachment; filename="Accounts 2025.pdf"; filename*=UTF-8''Accounts%202025.pdf`);
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.headers['cache-control']).toMatch(/no-store/);
    const preview = await app.inject({ url: `/api/v1/portal/documents/${documentId}/content?disposition=inline`, headers: bearer(practice.token) });
    expect(preview.headers['content-disposition']).toMatch(/^inline; /);
    expect(preview.headers['content-security-policy']).toMatch(/^sandbox/);
  });

  it('keeps versions: a new upload is version 2 and version 1 still downloads', async () => {
    const second = pdf();
    const response = await app.inject({
      method: 'POST',
      url: `/api/v1/portal/documents/${documentId}/versions?filename=Accounts%20final.pdf`,
      headers: { ...bearer(practice.token), 'content-type': 'application/pdf' },
      payload: second,
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json().version.version).toBe(2);
    const first = await app.inject({ url: `/api/v1/portal/documents/${documentId}/content?version=1`, headers: bearer(practice.token) });
    expect(first.rawPayload.equals(original)).toBe(true);
    const listed = await app.inject({ url: `/api/v1/portal/documents/${documentId}`, headers: bearer(practice.token) });
    expect(listed.json().versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const list = (await app.inject({ url: `/api/v1/portal/clients/${mine.id}/documents`, headers: bearer(practice.token) })).json().documents;
    expect(list.find((d: { id: string }) => d.id === documentId)).toMatchObject({ latestVersion: 2, latest: { contentType: 'application/pdf', sizeBytes: second.length, origin: 'upload', scan: 'clean' } });
  });

  it('refuses content that is not what it claims, malware, and a full quota, keeping nothing', async () => {
    const before = { files: blobFiles(), versions: await versionCount() };
    const mismatch = await upload(mine.id, png(), bearer(practice.token));
    expect(expectProblem(mismatch, 400).errors).toEqual([expect.objectContaining({ field: expect.stringMatching(/file|contentType/) })]);
    const program = await upload(mine.id, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]), { ...bearer(practice.token), 'content-type': 'application/octet-stream' }, 'filename=invoice.pdf.exe');
    expect([400, 415]).toContain(program.statusCode);
    const infected = await upload(mine.id, EICAR, { ...bearer(practice.token), 'content-type': 'text/plain' }, 'filename=notes.txt');
    expect(expectProblem(infected, 422).detail).toMatch(/malware/);
    expect(infected.body).not.toContain('Eicar');

    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('portal_practice').set({ storage_quota_bytes: 10 }).execute());
    const full = await upload(mine.id, pdf(), bearer(practice.token));
    expect(expectProblem(full, 409).detail).toMatch(/storage is full/);
    await asSystem(platform, practice.id, (scope) => scope.trx.updateTable('portal_practice').set({ storage_quota_bytes: 5 * 1024 ** 3 }).execute());

    const missingName = await upload(mine.id, pdf(), bearer(practice.token), '');
    expect(expectProblem(missingName, 400).errors).toEqual([expect.objectContaining({ field: expect.stringMatching(/filename/) })]);
    expect({ files: blobFiles(), versions: await versionCount() }).toEqual(before);
  });

  it("a client user reaches their own client's documents and nothing of another client's", async () => {
    const own = await upload(mine.id, pdf(), clientUser.write, 'filename=receipts.pdf');
    expect(own.statusCode, own.body).toBe(201);
    const read = await app.inject({ url: `/api/v1/portal/documents/${documentId}/content`, headers: clientUser.read });
    expect(read.statusCode).toBe(200);

    const foreign = await upload(theirs.id, pdf(), bearer(practice.token), 'filename=private.pdf');
    const foreignId = foreign.json().document.id;
    for (const url of [
      `/api/v1/portal/documents/${foreignId}`,
      `/api/v1/portal/documents/${foreignId}/content`,
      `/api/v1/portal/clients/${theirs.id}/documents`,
      `/api/v1/portal/clients/${theirs.id}`,
    ]) {
      expectProblem(await app.inject({ url, headers: clientUser.read }), 404);
    }
    expectProblem(await upload(theirs.id, pdf(), clientUser.write, 'filename=planted.pdf'), 404);
    const clients = await app.inject({ url: '/api/v1/portal/clients', headers: clientUser.read });
    expect(clients.json().items.map((c: { id: string }) => c.id)).toEqual([mine.id]);
    // Managing documents is the practice's: a client user may not delete.
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/portal/documents/${documentId}`, headers: clientUser.write }), 403);
  });

  it("a client user adds versions to what client users put in the area, never to the practice's documents", async () => {
    const addVersion = (id: string, headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: `/api/v1/portal/documents/${id}/versions?filename=v.pdf`, headers: { ...headers, 'content-type': 'application/pdf' }, payload: pdf() });
    const theirsNow = await upload(mine.id, pdf(), clientUser.write, 'filename=bank%20statement.pdf');
    const clientDoc = theirsNow.json().document;
    expect(clientDoc.addedBy).toBe('client');
    const practiceDoc = (await app.inject({ url: `/api/v1/portal/documents/${documentId}`, headers: clientUser.read })).json();
    expect(practiceDoc.addedBy).toBe('practice');

    const before = { files: blobFiles(), versions: await versionCount() };
    const refused = expectProblem(await addVersion(documentId, clientUser.write), 403);
    expect(refused.detail).toMatch(/put in your area by the practice/);
    expect({ files: blobFiles(), versions: await versionCount() }).toEqual(before);
    expect((await app.inject({ url: `/api/v1/portal/documents/${documentId}`, headers: bearer(practice.token) })).json().latestVersion).toBe(2);

    expect((await addVersion(clientDoc.id, clientUser.write)).json().version.version).toBe(2);
    // The practice may add versions to either.
    expect((await addVersion(clientDoc.id, bearer(practice.token))).json().version.version).toBe(3);
    const listed = (await app.inject({ url: `/api/v1/portal/clients/${mine.id}/documents`, headers: clientUser.read })).json().documents;
    expect(Object.fromEntries(listed.map((d: { id: string; addedBy: string }) => [d.id, d.addedBy]))).toMatchObject({ [documentId]: 'practice', [clientDoc.id]: 'client' });
  });

  it('another practice gets nothing: not the client, its documents or their content', async () => {
    for (const url of [`/api/v1/portal/documents/${documentId}`, `/api/v1/portal/documents/${documentId}/content`, `/api/v1/portal/clients/${mine.id}/documents`]) {
      expectProblem(await app.inject({ url, headers: bearer(other.token) }), 404);
    }
    expectProblem(await upload(mine.id, pdf(), bearer(other.token)), 404);
  });

  it('deletes a document with its versions; the files are queued for removal', async () => {
    const response = await app.inject({ method: 'DELETE', url: `/api/v1/portal/documents/${documentId}`, headers: bearer(practice.token) });
    expect(response.statusCode).toBe(204);
    expectProblem(await app.inject({ url: `/api/v1/portal/documents/${documentId}`, headers: bearer(practice.token) }), 404);
    const jobs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'blobs.remove' AND data->>'tenantId' = ${practice.id}`.execute(platform.db.owner);
    expect(jobs.rows[0]!.n).toBe(1);
  });
});

describe('practice-wide MFA', () => {
  it('once an Administrator requires it, a client user must pass MFA too before reaching anything', async () => {
    const person = fakePerson();
    const userId = (await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, mine.id, { email: person.email }, 'http://x'))).userId;
    const withoutMfa = await testSession(platform, practice.id, userId, { mfaVerified: false });
    // Practices start without the requirement: a client user who never enrolled gets in.
    expect((await app.inject({ url: '/api/v1/portal/clients', headers: withoutMfa.read })).statusCode).toBe(200);
    const admin = await testSession(platform, practice.id, practice.adminUserId, { mfaVerified: true });
    const on = await app.inject({ method: 'PUT', url: '/api/v1/organisation/settings', headers: admin.write, payload: { requireMfa: true } });
    expect(on.json()).toMatchObject({ requireMfa: true });
    for (const url of ['/api/v1/portal/clients', `/api/v1/portal/clients/${mine.id}/documents`, '/api/v1/portal/flows']) {
      expect(expectProblem(await app.inject({ url, headers: withoutMfa.read }), 403).type).toMatch(/mfa-required$/);
    }
    await app.inject({ method: 'PUT', url: '/api/v1/organisation/settings', headers: admin.write, payload: { requireMfa: false } });
  });
});

async function versionCount(): Promise<number> {
  const rows = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('portal_document_versions').select('id').execute());
  return rows.length;
}
