import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { buildServer } from '../../http/server.ts';
import { bearer, expectProblem, issueToken, testSession } from '../../http/testing.ts';
import { inviteUser } from '../../platform/identity/users.ts';
import { revokeApiToken } from '../../platform/identity/api-tokens.ts';
import { writeCtf } from './connectors/ctf-writer.ts';
import { writeOneRosterCsv } from './connectors/oneroster-csv-writer.ts';
import { createSyncReader } from './reader.ts';
import { uploadsOnDisk } from './routes.ts';
import { fakeSchool } from './testing/fake-school.ts';
import { importSharingSchool, type ImportedSchool } from './testing/sharing-fixture.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let a: TestOrganisation;
let ids: ImportedSchool;
let dir: string;

const octet = { 'content-type': 'application/octet-stream' };
const count = (tenantId: string, table: 'pupils' | 'staff' | 'sync_runs') =>
  asSystem(platform, tenantId, async (scope) => Number((await scope.trx.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n));

beforeAll(async () => {
  platform = await startTestPlatform();
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  a = await createTestOrganisation(platform);
  ids = await importSharingSchool(platform, a.id);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-sync-routes-'));
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the school's data browser", () => {
  it('finds a pupil by surname, whatever the case, and shows every field to the school', async () => {
    const response = await app.inject({ url: '/api/v1/sync/pupils?search=SMITH', headers: bearer(a.token) });
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json();
    expect(page).toMatchObject({ total: 2, limit: 50, offset: 0 });
    expect(page.items.map((p: { id: string }) => p.id).sort()).toEqual([ids.pupils.P1, ids.pupils.P3].sort());
    expect(page.items.find((p: { id: string }) => p.id === ids.pupils.P1)).toMatchObject({
      legalForename: 'Annabel',
      preferredForename: 'Anna',
      dateOfBirth: '2014-03-01',
      ethnicity: 'WBRI',
      upn: 'A123456789012',
      fsmEligible: true,
      address: { postcode: 'ZZ1 1ZZ' },
      photoBlobId: expect.any(String),
      source: 'upload:test',
      misId: 'P1',
      status: 'current',
    });
    // A signed-in admin sees the same.
    const session = await testSession(platform, a.id, a.adminUserId, { mfaVerified: true });
    const bySession = await app.inject({ url: '/api/v1/sync/pupils?search=anna%20smith', headers: session.read });
    expect(bySession.json().items?.map((p: { id: string }) => p.id), bySession.body).toEqual([ids.pupils.P1]);
    // By UPN, by group name or id, paged.
    expect((await app.inject({ url: '/api/v1/sync/pupils?search=a123456789012', headers: bearer(a.token) })).json().total).toBe(1);
    expect((await app.inject({ url: '/api/v1/sync/pupils?group=5a', headers: bearer(a.token) })).json().total).toBe(2);
    expect((await app.inject({ url: `/api/v1/sync/pupils?group=${ids.groups.G3B}`, headers: bearer(a.token) })).json().items.map((p: { id: string }) => p.id)).toEqual([ids.pupils.P3]);
    const second = (await app.inject({ url: '/api/v1/sync/pupils?limit=1&offset=1', headers: bearer(a.token) })).json();
    expect(second).toMatchObject({ total: 3, limit: 1, offset: 1, items: [{ legalSurname: 'Smith' }] });
    expectProblem(await app.inject({ url: '/api/v1/sync/pupils?limit=0', headers: bearer(a.token) }), 400);
    expect(expectProblem(await app.inject({ url: '/api/v1/sync/pupils?colour=red', headers: bearer(a.token) }), 400).errors).toEqual([{ field: 'colour', reason: 'is not a known field' }]);
  });

  it('shows one pupil with their contacts and no-contact flags, and the contacts, staff, groups, freshness and runs', async () => {
    const pupil = await app.inject({ url: `/api/v1/sync/pupils/${ids.pupils.P2}`, headers: bearer(a.token) });
    expect(pupil.statusCode, pupil.body).toBe(200);
    expect(pupil.json().contacts).toEqual([
      expect.objectContaining({ id: ids.contacts.C2, forename: 'Tom', links: [expect.objectContaining({ pupilId: ids.pupils.P2, noContact: true, relationship: 'DAD' })] }),
    ]);
    expectProblem(await app.inject({ url: `/api/v1/sync/pupils/${ids.contacts.C1}`, headers: bearer(a.token) }), 404);
    expectProblem(await app.inject({ url: '/api/v1/sync/pupils/P1', headers: bearer(a.token) }), 400);

    const contacts = (await app.inject({ url: '/api/v1/sync/contacts?search=jones', headers: bearer(a.token) })).json();
    expect(contacts.items.map((c: { id: string }) => c.id)).toEqual([ids.contacts.C2]);
    const staff = (await app.inject({ url: '/api/v1/sync/staff', headers: bearer(a.token) })).json();
    expect(staff.items.map((s: { surname: string; dateOfBirth: string | null }) => [s.surname, s.dateOfBirth])).toEqual([['Office', null], ['Teacher', '1985-01-01']]);
    const groups = (await app.inject({ url: '/api/v1/sync/groups?kind=registration', headers: bearer(a.token) })).json();
    expect(groups.items.map((g: { name: string }) => g.name)).toEqual(['3B', '5A']);
    const fresh = (await app.inject({ url: '/api/v1/sync/freshness', headers: bearer(a.token) })).json();
    expect(Object.keys(fresh.freshAsOf).sort()).toEqual(['attendance', 'contacts', 'groups', 'pupils', 'staff']);

    const runs = (await app.inject({ url: '/api/v1/sync/runs', headers: bearer(a.token) })).json();
    expect(runs.runs[0]).toMatchObject({ id: ids.runId, status: 'succeeded', created: { pupils: 3, contacts: 2, staff: 2 } });
    const run = (await app.inject({ url: `/api/v1/sync/runs/${ids.runId}`, headers: bearer(a.token) })).json();
    expect(run.changes).toContainEqual({ entity: 'pupils', recordId: ids.pupils.P1, misId: 'P1', change: 'created', fields: [] });
    expectProblem(await app.inject({ url: `/api/v1/sync/runs/${ids.pupils.P1}`, headers: bearer(a.token) }), 404);
  });

  it('gives an organisation that is not a school empty lists, and refuses it imports and grants with 409', async () => {
    const trust = await createTestOrganisation(platform, { kind: 'trust' });
    for (const url of ['/api/v1/sync/pupils', '/api/v1/sync/contacts', '/api/v1/sync/staff', '/api/v1/sync/groups']) {
      const response = await app.inject({ url, headers: bearer(trust.token) });
      expect(response.statusCode, url).toBe(200);
      expect(response.json(), url).toEqual({ items: [], total: 0, limit: 50, offset: 0 });
    }
    expect((await app.inject({ url: '/api/v1/sync/runs', headers: bearer(trust.token) })).json()).toEqual({ runs: [] });
    expect((await app.inject({ url: '/api/v1/sync/freshness', headers: bearer(trust.token) })).json()).toEqual({ freshAsOf: {} });
    expect((await app.inject({ url: '/api/v1/sync/sharing', headers: bearer(trust.token) })).json()).toEqual({ paused: false, grants: [] });
    const upload = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf', headers: { ...bearer(trust.token), ...octet }, payload: Buffer.from('<CTfile/>') });
    expectProblem(upload, 409);
    const granted = await app.inject({ method: 'POST', url: '/api/v1/sync/sharing/grants', headers: bearer(trust.token), payload: { granteeKind: 'product', grantee: 'messaging', scopes: ['staff'] } });
    expectProblem(granted, 409);
  });
});

describe('permissions', () => {
  it("refuses a member's session every sync route with 403, and a read token the import and sharing routes", async () => {
    const email = fakePerson().email;
    const member = await asSystem(platform, a.id, (scope) => inviteUser(scope, { email, role: 'member' }, 'http://x'));
    const session = await testSession(platform, a.id, member.userId, { mfaVerified: true });
    const readToken = (await issueToken(platform, a.id, ['read'], 'browser')).token;
    for (const [method, url] of [
      ['GET', '/api/v1/sync/pupils'],
      ['GET', `/api/v1/sync/pupils/${ids.pupils.P1}`],
      ['GET', '/api/v1/sync/runs'],
      ['GET', '/api/v1/sync/sharing'],
      ['POST', '/api/v1/sync/imports?format=ctf'],
      ['PUT', '/api/v1/sync/sharing/paused'],
    ] as const) {
      const response = await app.inject({ method, url, headers: method === 'GET' ? session.read : { ...session.write, ...octet }, payload: method === 'GET' ? undefined : Buffer.from('{}') });
      expect(expectProblem(response, 403).detail, url).toMatch(/your role does not include 'sync\./);
    }
    expect((await app.inject({ url: '/api/v1/sync/pupils', headers: bearer(readToken) })).statusCode).toBe(200);
    for (const [method, url] of [
      ['POST', '/api/v1/sync/imports?format=ctf'],
      ['GET', '/api/v1/sync/sharing'],
    ] as const) {
      expectProblem(await app.inject({ method, url, headers: { ...bearer(readToken), ...octet }, payload: method === 'GET' ? undefined : Buffer.from('x') }), 403);
    }
  });
});

describe('file imports', () => {
  it('imports a CTF upload (a dry run first, which writes nothing), then finds its pupils', async () => {
    const school = await createTestOrganisation(platform);
    const batch = fakeSchool({ pupils: 4, seed: 7, attendanceDays: 2, phase: 'primary' });
    const file = path.join(dir, 'school.xml');
    await writeCtf(batch, file);
    const body = fs.readFileSync(file);

    const dry = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf&dryRun=true', headers: { ...bearer(school.token), ...octet }, payload: body });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ status: 'succeeded', dryRun: true, created: { pupils: 4 } });
    expect(await count(school.id, 'pupils')).toBe(0);

    const real = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf', headers: { ...bearer(school.token), ...octet }, payload: body });
    expect(real.statusCode, real.body).toBe(200);
    expect(real.json()).toMatchObject({ status: 'succeeded', dryRun: false, created: { pupils: 4 }, runId: expect.any(String) });
    const surname = batch.pupils[0]!.legalSurname;
    const found = (await app.inject({ url: `/api/v1/sync/pupils?search=${encodeURIComponent(surname.toUpperCase())}`, headers: bearer(school.token) })).json();
    expect(found.items.map((p: { legalSurname: string }) => p.legalSurname)).toContain(surname);
    const runs = (await app.inject({ url: '/api/v1/sync/runs', headers: bearer(school.token) })).json().runs;
    expect(runs[0]).toMatchObject({ id: real.json().runId, format: 'ctf', source: 'upload:ctf', startedBy: expect.stringMatching(/^api_token:/) });
    // No upload is left behind on disk.
    expect(uploadsOnDisk()).toEqual([]);
  });

  it('imports a OneRoster CSV zip and a mapped CSV', async () => {
    const school = await createTestOrganisation(platform);
    const batch = fakeSchool({ pupils: 3, seed: 11, phase: 'primary' });
    const zip = path.join(dir, 'oneroster.zip');
    await writeOneRosterCsv(batch, zip, { version: '1.2', mode: 'bulk' });
    const roster = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=oneroster-csv', headers: { ...bearer(school.token), ...octet }, payload: fs.readFileSync(zip) });
    expect(roster.statusCode, roster.body).toBe(200);
    expect(roster.json()).toMatchObject({ status: 'succeeded', created: { pupils: 3 } });

    const mapping = JSON.stringify({ entity: 'staff', columns: { misId: 'Id', forename: 'First', surname: 'Last' } });
    const csv = await app.inject({
      method: 'POST',
      url: `/api/v1/sync/imports?format=csv&mapping=${encodeURIComponent(mapping)}`,
      headers: { ...bearer(school.token), ...octet },
      payload: 'Id,First,Last\nT1,Ada,Lovelace\nT2,Alan,Turing\n',
    });
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.json()).toMatchObject({ status: 'succeeded', created: { staff: 2 } });
    expect((await app.inject({ url: '/api/v1/sync/staff?search=turing', headers: bearer(school.token) })).json().total).toBe(1);
  });

  it('answers a bad file with a 400 problem naming each place, and imports nothing', async () => {
    const school = await createTestOrganisation(platform);
    const broken = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf', headers: { ...bearer(school.token), ...octet }, payload: 'this is <not xml' });
    const problem = expectProblem(broken, 400);
    expect(problem.detail).toMatch(/nothing was imported/);
    expect(problem.errors!.length).toBeGreaterThan(0);
    for (const error of problem.errors!) expect(error.field).toMatch(/^upload\.xml/);

    const mapping = JSON.stringify({ entity: 'staff', columns: { misId: 'Id', forename: 'First', surname: 'Last' } });
    const badRow = await app.inject({
      method: 'POST',
      url: `/api/v1/sync/imports?format=csv&mapping=${encodeURIComponent(mapping)}`,
      headers: { ...bearer(school.token), ...octet },
      payload: 'Id,First,Last\nT1,Secret-Name,\n',
    });
    const rowProblem = expectProblem(badRow, 400);
    expect(rowProblem.errors).toEqual([expect.objectContaining({ field: expect.stringMatching(/^upload\.csv line 2/) })]);
    expect(badRow.body).not.toContain('Secret-Name');

    expect(expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=csv', headers: { ...bearer(school.token), ...octet }, payload: 'a,b\n' }), 400).errors).toEqual([
      { field: 'mapping', reason: 'is required for format=csv' },
    ]);
    expect(expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=csv&mapping=%7B', headers: { ...bearer(school.token), ...octet }, payload: 'a,b\n' }), 400).errors).toEqual([
      { field: 'mapping', reason: 'must be JSON' },
    ]);
    expect(expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=xls', headers: { ...bearer(school.token), ...octet }, payload: 'x' }), 400).errors![0]!.field).toBe('format');
    // A JSON body is not a file; and no other route takes a raw body.
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf', headers: bearer(school.token), payload: { file: 'x' } }), 415);
    expectProblem(await app.inject({ method: 'PUT', url: '/api/v1/sync/sharing/paused', headers: { ...bearer(school.token), ...octet }, payload: 'x'.repeat(10_000) }), 415);
    expect(expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=__proto__', headers: { ...bearer(school.token), ...octet }, payload: 'x' }), 400).errors![0]!.field).toBe('format');
    // Too large, by its declared length: refused before it is read.
    const huge = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf', headers: { ...bearer(school.token), ...octet, 'content-length': String(200 * 1024 * 1024) }, payload: 'x' });
    expectProblem(huge, 413);

    expect(await count(school.id, 'pupils')).toBe(0);
    expect(await count(school.id, 'staff')).toBe(0);
    expect(uploadsOnDisk()).toEqual([]);
  });

  it('keeps the upload sealed on disk while it is read: nothing of the file can be found there', async () => {
    const school = await createTestOrganisation(platform);
    const batch = fakeSchool({ pupils: 600, seed: 8 });
    const file = path.join(dir, 'sealed.xml');
    await writeCtf(batch, file);
    const plain = fs.readFileSync(file);
    const names = batch.pupils.slice(0, 20).map((p) => Buffer.from(`<Surname>${p.legalSurname}</Surname>`));
    expect(plain.includes(names[0]!)).toBe(true);

    // Whatever the upload folder holds is read as often as possible while the request runs.
    const seen: Buffer[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const folder of uploadsOnDisk()) {
          for (const name of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
            try {
              seen.push(fs.readFileSync(path.join(folder, name)));
            } catch {
              // Removed between the listing and the read.
            }
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    const response = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf&dryRun=true', headers: { ...bearer(school.token), ...octet }, payload: plain });
    watching = false;
    await watcher;
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().created.pupils).toBe(600);

    const full = seen.filter((b) => b.length >= plain.length);
    expect(full.length).toBeGreaterThan(0);
    for (const bytes of seen) {
      expect(bytes.includes(Buffer.from('<CTfile'))).toBe(false);
      for (const name of names) expect(bytes.includes(name)).toBe(false);
    }
    expect(uploadsOnDisk()).toEqual([]);
  });

  it('checks the credential afresh before reading the upload: a token revoked a moment ago imports nothing', async () => {
    const school = await createTestOrganisation(platform);
    const { token, id } = await issueToken(platform, school.id, ['read', 'admin'], 'uploader');
    // Admitted once, so this process would let it skip the early lookup for a few seconds.
    expect((await app.inject({ url: '/api/v1/sync/pupils', headers: bearer(token) })).statusCode).toBe(200);
    await asSystem(platform, school.id, (scope) => revokeApiToken(scope, id));
    const batch = fakeSchool({ pupils: 2, seed: 3, phase: 'primary' });
    const file = path.join(dir, 'revoked.xml');
    await writeCtf(batch, file);
    const response = await app.inject({ method: 'POST', url: '/api/v1/sync/imports?format=ctf', headers: { ...bearer(token), ...octet }, payload: fs.readFileSync(file) });
    expectProblem(response, 401);
    expect(await count(school.id, 'sync_runs')).toBe(0);
  });
});

describe('sharing over HTTP', () => {
  it('grants, lists with read counts, excludes, pauses and revokes, and the reader follows at once', async () => {
    const admin = bearer(a.token);
    const created = await app.inject({ method: 'POST', url: '/api/v1/sync/sharing/grants', headers: admin, payload: { granteeKind: 'product', grantee: 'cashless', scopes: ['pupils.basic'] } });
    expect(created.statusCode, created.body).toBe(201);
    const grantId = created.json().id;
    expect(expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/sharing/grants', headers: admin, payload: { granteeKind: 'product', grantee: 'cashless', scopes: ['all'] } }), 400).errors![0]!.field).toBe('scopes.0');

    const readAsCashless = () => asSystem(platform, a.id, (scope) => createSyncReader(scope, 'cashless').pupils());
    expect(await readAsCashless()).toHaveLength(3);
    const overview = (await app.inject({ url: '/api/v1/sync/sharing', headers: admin })).json();
    expect(overview).toMatchObject({ paused: false, grants: [{ id: grantId, grantee: 'cashless', scopes: ['pupils.basic'], reads: [{ reads: 1 }] }] });

    const exclude = await app.inject({ method: 'POST', url: `/api/v1/sync/sharing/grants/${grantId}/exclusions`, headers: admin, payload: { memberKind: 'pupil', memberId: ids.pupils.P1 } });
    expect(exclude.statusCode, exclude.body).toBe(204);
    expect((await readAsCashless()).map((p) => p.id)).not.toContain(ids.pupils.P1);
    const include = await app.inject({ method: 'DELETE', url: `/api/v1/sync/sharing/grants/${grantId}/exclusions?memberKind=pupil&memberId=${ids.pupils.P1}`, headers: admin });
    expect(include.statusCode, include.body).toBe(204);
    expect(await readAsCashless()).toHaveLength(3);

    expect((await app.inject({ method: 'PUT', url: '/api/v1/sync/sharing/paused', headers: admin, payload: { paused: true } })).json()).toEqual({ paused: true });
    await expect(readAsCashless()).rejects.toMatchObject({ status: 403 });
    expect((await app.inject({ method: 'PUT', url: '/api/v1/sync/sharing/paused', headers: admin, payload: { paused: false } })).json()).toEqual({ paused: false });
    expect(await readAsCashless()).toHaveLength(3);

    expect((await app.inject({ method: 'DELETE', url: `/api/v1/sync/sharing/grants/${grantId}`, headers: admin })).statusCode).toBe(204);
    await expect(readAsCashless()).rejects.toMatchObject({ status: 403 });
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/sync/sharing/grants/${grantId}`, headers: admin }), 404);
    expect((await app.inject({ url: '/api/v1/sync/sharing', headers: admin })).json().grants).toEqual([]);
  });
});
