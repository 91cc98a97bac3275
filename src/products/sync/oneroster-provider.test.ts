import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import type { SyncGrantScope } from '../../platform/db/schema.ts';
import { hashSecret } from '../../platform/identity/tokens.ts';
import { buildServer } from '../../http/server.ts';
import { bearer, expectProblem } from '../../http/testing.ts';
import { cedsGrade, createApiClient, listApiClients, ROSTERING_BASE } from './oneroster-provider.ts';
import { excludeMember, grant, listGrants, revoke, setSharingPaused, utcDay } from './sharing.ts';
import { importSharingSchool, type ImportedSchool } from './testing/sharing-fixture.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let a: TestOrganisation;
let b: TestOrganisation;
let ids: ImportedSchool;

const deps = () => ({ queue: platform.queue });
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

async function newClient(org: TestOrganisation, name = 'Reading app') {
  const response = await app.inject({ method: 'POST', url: '/api/v1/sync/api-clients', headers: bearer(org.token), payload: { name } });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; clientId: string; clientSecret: string };
}

const grantTo = (org: TestOrganisation, clientId: string, scopes: SyncGrantScope[]) =>
  asSystem(platform, org.id, (scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: clientId, scopes }));

async function tokenFor(client: { clientId: string; clientSecret: string }): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers: { ...FORM, ...basic(client.clientId, client.clientSecret) }, payload: 'grant_type=client_credentials' });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().access_token;
}

const get = (token: string, path: string): Promise<LightMyRequestResponse> => app.inject({ url: `${ROSTERING_BASE}/${path}`, headers: bearer(token) });

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  ids = await importSharingSchool(platform, a.id);
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('OneRoster API clients', () => {
  it('shows the secret once, stores only hashes of secrets and tokens, and audits the registration', async () => {
    const client = await newClient(a);
    expect(client.clientId).toMatch(/^orc-[0-9a-f]{32}$/);
    expect(client.clientSecret).toMatch(/^ors_/);
    const token = await tokenFor(client);
    const listed = await app.inject({ url: '/api/v1/sync/api-clients', headers: bearer(a.token) });
    expect(listed.json().apiClients.find((c: { id: string }) => c.id === client.id)).toEqual({ id: client.id, clientId: client.clientId, name: 'Reading app', createdAt: expect.any(String), revokedAt: null });
    expect(listed.body).not.toContain(client.clientSecret);
    // Nowhere in the database in clear; the stored forms are SHA-256 hashes.
    const text = (value: unknown) => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    const dump = text(await sql`select * from sync_api_clients`.execute(platform.db.owner)) + text(await sql`select * from sync_api_client_tokens`.execute(platform.db.owner));
    const audit = text(await sql`select * from audit_events`.execute(platform.db.owner));
    for (const secret of [client.clientSecret, token]) {
      expect(dump).not.toContain(secret);
      expect(audit).not.toContain(secret);
    }
    expect(dump).toContain(hashSecret(client.clientSecret));
    expect(dump).toContain(hashSecret(token));
    expect(audit).toContain('sync.api_client_created');
  });

  it('is for schools only', async () => {
    const practice = await createTestOrganisation(platform, { kind: 'practice' });
    expectProblem(await app.inject({ method: 'POST', url: '/api/v1/sync/api-clients', headers: bearer(practice.token), payload: { name: 'x' } }), 409);
  });
});

describe('the token endpoint (OAuth 2 client credentials)', () => {
  it('issues a one-hour bearer token for HTTP Basic or body credentials, not cached', async () => {
    const client = await newClient(a);
    const viaBasic = await app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers: { ...FORM, ...basic(client.clientId, client.clientSecret) }, payload: 'grant_type=client_credentials&scope=x' });
    expect(viaBasic.statusCode).toBe(200);
    expect(viaBasic.json()).toMatchObject({ access_token: expect.stringMatching(/^ort_/), token_type: 'Bearer', expires_in: 3600 });
    expect(viaBasic.headers['cache-control']).toBe('no-store');
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }).toString();
    const viaBody = await app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers: FORM, payload: body });
    expect(viaBody.statusCode).toBe(200);
    expect(viaBody.json().access_token).not.toBe(viaBasic.json().access_token);
    const expiry = await asSystem(platform, a.id, (scope) =>
      scope.trx.selectFrom('sync_api_client_tokens').select(sql<number>`extract(epoch from expires_at - now())`.as('s')).where('token_hash', '=', hashSecret(viaBody.json().access_token)).executeTakeFirstOrThrow());
    expect(Number(expiry.s)).toBeGreaterThan(3500);
    expect(Number(expiry.s)).toBeLessThanOrEqual(3600);
  });

  it('answers RFC 6749 errors', async () => {
    const client = await newClient(a);
    const call = (payload: string, headers: Record<string, string> = FORM) => app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers, payload });
    const creds = `client_id=${client.clientId}&client_secret=${encodeURIComponent(client.clientSecret)}`;
    const cases: [LightMyRequestResponse, number, string][] = [
      [await call(creds), 400, 'invalid_request'],
      [await call(`grant_type=password&${creds}`), 400, 'unsupported_grant_type'],
      [await call(`grant_type=client_credentials&grant_type=client_credentials&${creds}`), 400, 'invalid_request'],
      [await call(`grant_type=client_credentials&${creds}`, { ...FORM, ...basic(client.clientId, client.clientSecret) }), 400, 'invalid_request'],
      [await call(JSON.stringify({ grant_type: 'client_credentials' }), { 'content-type': 'application/json' }), 400, 'invalid_request'],
      [await call('grant_type=client_credentials'), 401, 'invalid_client'],
      [await call(`grant_type=client_credentials&client_id=${client.clientId}&client_secret=ors_wrong`), 401, 'invalid_client'],
      [await call('grant_type=client_credentials', { ...FORM, ...basic(client.clientId, 'ors_wrong') }), 401, 'invalid_client'],
      [await call('grant_type=client_credentials', { ...FORM, ...basic(`orc-${'0'.repeat(32)}`, client.clientSecret) }), 401, 'invalid_client'],
    ];
    for (const [response, status, error] of cases) {
      expect(response.statusCode, response.body).toBe(status);
      expect(response.json()).toEqual({ error, error_description: expect.any(String) });
      expect(response.body).not.toContain(client.clientSecret);
      if (status === 401) expect(response.headers['www-authenticate']).toMatch(/^Basic /);
    }
  });

  it('throttles failed client authentication by address', async () => {
    const client = await newClient(a);
    const from = { remoteAddress: '198.51.100.44' };
    let last: LightMyRequestResponse | undefined;
    for (let attempt = 0; attempt < 105; attempt++) {
      last = await app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers: { ...FORM, ...basic(client.clientId, `ors_guess${attempt}`) }, payload: 'grant_type=client_credentials', ...from });
      if (last.statusCode === 429) break;
      expect(last.statusCode).toBe(401);
    }
    expect(last!.statusCode).toBe(429);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    // Guessing access tokens counts the same way.
    const guess = await app.inject({ url: `${ROSTERING_BASE}/orgs`, headers: bearer(`ort_${'x'.repeat(43)}`), ...from });
    expect(guess.statusCode).toBe(429);
  });
});

describe('the rostering API', () => {
  it('shows a client with pupils.basic the students, without contact or sensitive fields, and nothing else', async () => {
    const client = await newClient(a);
    await grantTo(a, client.clientId, ['pupils.basic']);
    const token = await tokenFor(client);
    const response = await get(token, 'students');
    expect(response.statusCode, response.body).toBe(200);
    const users = response.json().users as Record<string, unknown>[];
    expect(users).toHaveLength(3);
    const anna = users.find((u) => u.sourcedId === ids.pupils.P1)!;
    expect(anna).toEqual({
      sourcedId: ids.pupils.P1,
      status: 'active',
      dateLastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      enabledUser: 'true',
      givenName: 'Annabel',
      familyName: 'Smith',
      middleName: 'Rose',
      preferredFirstName: 'Anna',
      preferredLastName: 'Smith',
      roles: [{ roleType: 'primary', role: 'student', org: { href: `${ROSTERING_BASE}/orgs/${a.id}`, sourcedId: a.id, type: 'org' } }],
      primaryOrg: { href: `${ROSTERING_BASE}/orgs/${a.id}`, sourcedId: a.id, type: 'org' },
      grades: ['05'],
    });
    for (const field of ['email', 'phone', 'sms', 'userMasterIdentifier', 'userIds', 'agents']) expect(users.every((u) => !(field in u)), field).toBe(true);
    expect(response.body).not.toContain('annabel.pupil@example.test');
    expect(response.body).not.toContain('A123456789012');
    // users lists the same (pupils only under this grant); one user by id.
    expect((await get(token, 'users')).json().users).toEqual(users);
    expect((await get(token, `users/${ids.pupils.P1}`)).json()).toEqual({ user: anna });
    expectProblem(await get(token, `users/${ids.staff.S1}`), 404);
    // Collections the grant does not cover are refused.
    for (const path of ['teachers', 'classes', 'enrollments', 'demographics']) {
      expect(expectProblem(await get(token, path), 403).type, path).toMatch(/sharing-not-granted$/);
    }
    expect((await get(token, 'orgs')).json().orgs).toEqual([expect.objectContaining({ sourcedId: a.id, type: 'school', name: 'Fixture Primary', identifier: '100001' })]);
  });

  it('maps every scope to OneRoster fields, honouring exclusions and no-contact orders', async () => {
    const client = await newClient(a);
    const created = await grantTo(a, client.clientId, ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'contacts', 'staff', 'groups']);
    await asSystem(platform, a.id, (scope) => excludeMember(deps(), scope, created.id, { memberKind: 'pupil', memberId: ids.pupils.P3 }));
    const token = await tokenFor(client);
    const users = (await get(token, 'users')).json().users as Record<string, any>[];
    expect(users.map((u) => u.sourcedId).sort()).toEqual([ids.pupils.P1, ids.pupils.P2, ids.staff.S1, ids.staff.S2, ids.contacts.C1, ids.contacts.C2].sort());
    const anna = users.find((u) => u.sourcedId === ids.pupils.P1)!;
    expect(anna).toMatchObject({ email: 'annabel.pupil@example.test', phone: '07700 900001', sms: '07700 900001', userMasterIdentifier: 'A123456789012', userIds: [{ type: 'UPN', identifier: 'A123456789012' }] });
    expect(anna.agents).toEqual([{ href: `${ROSTERING_BASE}/users/${ids.contacts.C1}`, sourcedId: ids.contacts.C1, type: 'user' }]);
    // Tom Jones must not be contacted about Benedict: not offered as his agent, and flagged on his own record.
    expect(users.find((u) => u.sourcedId === ids.pupils.P2)!.agents).toEqual([]);
    const tom = users.find((u) => u.sourcedId === ids.contacts.C2)!;
    expect(tom).toMatchObject({ roles: [{ role: 'parent' }], metadata: { 'custos.noContact': [ids.pupils.P2] } });
    // Mary's link to the excluded pupil is gone.
    expect(users.find((u) => u.sourcedId === ids.contacts.C1)!.agents.map((r: { sourcedId: string }) => r.sourcedId)).toEqual([ids.pupils.P1]);
    expect(users.find((u) => u.sourcedId === ids.staff.S1)).toMatchObject({ givenName: 'Olive', familyName: 'Teacher', roles: [{ role: 'teacher' }], email: 'o.teacher@school.example.test' });
    expect((await get(token, 'teachers')).json().users).toHaveLength(2);

    const demographics = (await get(token, 'demographics')).json().demographics;
    expect(demographics.map((d: { sourcedId: string }) => d.sourcedId).sort()).toEqual([ids.pupils.P1, ids.pupils.P2].sort());
    expect(demographics.find((d: { sourcedId: string }) => d.sourcedId === ids.pupils.P1)).toMatchObject({ birthDate: '2014-03-01', sex: 'female' });

    const classes = (await get(token, 'classes')).json().classes;
    expect(classes.map((c: { title: string; classType: string }) => `${c.title}:${c.classType}`).sort()).toEqual(['3B:homeroom', '5A:homeroom']);
    const enrollments = (await get(token, 'enrollments')).json().enrollments as Record<string, any>[];
    const of5A = enrollments.filter((e) => e.class.sourcedId === ids.groups.G5A);
    expect(of5A.map((e) => `${e.role}:${e.user.sourcedId}`).sort()).toEqual([`student:${ids.pupils.P1}`, `student:${ids.pupils.P2}`, `teacher:${ids.staff.S1}`].sort());
    // The excluded pupil is in no enrollment, and nowhere else either.
    const everything = await Promise.all(['users', 'classes', 'enrollments', 'demographics'].map(async (p) => (await get(token, p)).body));
    for (const body of everything) expect(body).not.toContain(ids.pupils.P3);
    expect(new Set(enrollments.map((e) => e.sourcedId)).size).toBe(enrollments.length);
  });

  it('refuses a client without a grant, and on the next call after the grant is revoked or sharing paused; counts reads', async () => {
    const client = await newClient(a);
    const token = await tokenFor(client);
    for (const path of ['users', 'students', 'orgs']) expectProblem(await get(token, path), 403);
    const created = await grantTo(a, client.clientId, ['pupils.basic']);
    expect((await get(token, 'students')).statusCode).toBe(200);
    await asSystem(platform, a.id, (scope) => setSharingPaused(deps(), scope, true));
    expectProblem(await get(token, 'students'), 403);
    await asSystem(platform, a.id, (scope) => setSharingPaused(deps(), scope, false));
    expect((await get(token, 'students')).statusCode).toBe(200);
    const reads = (await asSystem(platform, a.id, (scope) => listGrants(scope))).find((g) => g.id === created.id)!.reads;
    expect(reads).toEqual([{ day: utcDay(), reads: expect.any(Number) }]);
    expect(reads[0]!.reads).toBeGreaterThanOrEqual(2);
    await asSystem(platform, a.id, (scope) => revoke(deps(), scope, created.id));
    expect(expectProblem(await get(token, 'students'), 403).type).toMatch(/sharing-not-granted$/);
  });

  it('pages with limit and offset, X-Total-Count and a Link to the next page', async () => {
    const client = await newClient(a);
    await grantTo(a, client.clientId, ['pupils.basic', 'staff']);
    const token = await tokenFor(client);
    const all = (await get(token, 'users')).json().users.map((u: { sourcedId: string }) => u.sourcedId);
    expect(all).toHaveLength(5);
    const first = await get(token, 'users?limit=2');
    expect(first.headers['x-total-count']).toBe('5');
    expect(first.headers.link).toBe(`<${ROSTERING_BASE}/users?limit=2&offset=2>; rel="next"`);
    expect(first.json().users.map((u: { sourcedId: string }) => u.sourcedId)).toEqual(all.slice(0, 2));
    const second = await get(token, 'users?limit=2&offset=2');
    expect(second.json().users.map((u: { sourcedId: string }) => u.sourcedId)).toEqual(all.slice(2, 4));
    const last = await get(token, 'users?limit=2&offset=4');
    expect(last.json().users.map((u: { sourcedId: string }) => u.sourcedId)).toEqual(all.slice(4));
    expect(last.headers.link).toBeUndefined();
    expect((await get(token, 'users?offset=10')).json().users).toEqual([]);
    for (const query of ['limit=0', 'limit=1001', 'offset=-1', 'limit=x', 'filter=x']) expectProblem(await get(token, `users?${query}`), 400);
    expect((await get(token, 'users?limit=1000')).statusCode).toBe(200);
  });

  it("refuses expired tokens, revoked clients' tokens and other credentials", async () => {
    const client = await newClient(a);
    const created = await grantTo(a, client.clientId, ['pupils.basic']);
    const token = await tokenFor(client);
    expect((await get(token, 'students')).statusCode).toBe(200);
    await platform.db.owner.updateTable('sync_api_client_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', hashSecret(token)).execute();
    const expired = await get(token, 'students');
    expectProblem(expired, 401);
    expect(expired.headers['www-authenticate']).toMatch(/^Bearer /);
    // A Custos API token is not a OneRoster token, nor is the client secret.
    expectProblem(await get(a.token, 'students'), 401);
    expectProblem(await get(client.clientSecret, 'students'), 401);
    expectProblem(await app.inject({ url: `${ROSTERING_BASE}/students` }), 401);

    const fresh = await tokenFor(client);
    expect((await get(fresh, 'students')).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/sync/api-clients/${client.id}`, headers: bearer(a.token) })).statusCode).toBe(204);
    expectProblem(await get(fresh, 'students'), 401);
    // Its grant went with it (with the usual receipt), and it can get no new token.
    expect((await asSystem(platform, a.id, (scope) => listGrants(scope))).map((g) => g.id)).not.toContain(created.id);
    const again = await app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers: { ...FORM, ...basic(client.clientId, client.clientSecret) }, payload: 'grant_type=client_credentials' });
    expect(again.json().error).toBe('invalid_client');
    expect((await asSystem(platform, a.id, listApiClients)).map((c) => c.id)).not.toContain(client.id);
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/sync/api-clients/${client.id}`, headers: bearer(a.token) }), 404);
  });

  it("shows another school's client none of this school's data", async () => {
    const bClient = await asSystem(platform, b.id, (scope) => createApiClient(scope, { name: 'B app' }));
    await grantTo(b, bClient.client.clientId, ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'contacts', 'staff', 'groups']);
    const token = await tokenFor({ clientId: bClient.client.clientId, clientSecret: bClient.clientSecret });
    for (const [path, envelope] of [['users', 'users'], ['students', 'users'], ['teachers', 'users'], ['classes', 'classes'], ['enrollments', 'enrollments'], ['demographics', 'demographics']]) {
      const response = await get(token, path!);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ [envelope!]: [] });
      expect(response.headers['x-total-count']).toBe('0');
    }
    const orgs = (await get(token, 'orgs')).json().orgs;
    expect(orgs).toEqual([expect.objectContaining({ sourcedId: b.id, name: b.name })]);
    for (const id of [...Object.values(ids.pupils), ...Object.values(ids.staff), ...Object.values(ids.contacts)]) expectProblem(await get(token, `users/${id}`), 404);
    // A's client, granted in A only, gets no token that works in B and is unaffected by B's grant.
    const aClient = await newClient(a);
    await grantTo(b, aClient.clientId, ['pupils.basic']);
    expectProblem(await get(await tokenFor(aClient), 'students'), 403);
  });
});

describe('cedsGrade', () => {
  it('maps NC years to CEDS grades', () => {
    expect(['7', 'Y7', 'Year 11', '13', 'R', 'N1', '14', 'X', null].map(cedsGrade)).toEqual(['07', '07', '11', '13', 'KG', 'PK', undefined, undefined, undefined]);
  });
});
