import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { allPermissions, definePermissions } from '../../platform/access/permissions.ts';
import { permissionsOf, roleCan } from '../../platform/access/roles.ts';
import { listAudit } from '../../platform/audit/audit-reader.ts';
import { getUser } from '../../platform/identity/users.ts';
import { buildServer } from '../server.ts';
import { bearer, expectProblem, issueToken, tenantCounts } from '../testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;

const invite = async (role: 'admin' | 'member' = 'member') =>
  (await app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers: bearer(org.token), payload: { email: fakePerson().email, role } })).json().userId as string;
const setRole = (id: string, role: string, token = org.token) =>
  app.inject({ method: 'PUT', url: `/api/v1/users/${id}/role`, headers: bearer(token), payload: { role } });
const userOf = (id: string) => asSystem(platform, org.id, (scope) => getUser(scope, id));

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform, { kind: 'school' });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});
afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('permissions registry', () => {
  it('lists every permission the code defines, and refuses a second owner for one name', () => {
    expect(allPermissions().map((p) => p.name)).toEqual(expect.arrayContaining(['users.manage', 'audit.read']));
    expect(() => definePermissions('some-product', { 'users.manage': 'taken' })).toThrow(/already owned by platform/);
  });

  it('gives admin everything and member only reading', () => {
    expect(permissionsOf('school', 'admin')).toEqual(allPermissions().map((p) => p.name));
    expect(roleCan('school', 'member', 'users.read')).toBe(true);
    expect(roleCan('school', 'member', 'users.manage')).toBe(false);
    expect(permissionsOf('school', 'no-such-role')).toEqual([]);
  });
});

describe('GET /api/v1/permissions', () => {
  it("shows the organisation's roles and what each may do, generated from the code", async () => {
    const response = await app.inject({ url: '/api/v1/permissions', headers: bearer(org.token) });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.organisationKind).toBe('school');
    expect(body.permissions.map((p: { name: string }) => p.name)).toEqual(allPermissions().map((p) => p.name));
    const member = body.roles.find((r: { name: string }) => r.name === 'member');
    expect(member.permissions).toEqual(permissionsOf('school', 'member'));
  });

  it('needs a token', async () => {
    expectProblem(await app.inject({ url: '/api/v1/permissions' }), 401);
  });
});

describe('changing roles', () => {
  it('grants a role, audited with before and after', async () => {
    const id = await invite();
    expect((await setRole(id, 'admin')).statusCode).toBe(204);
    expect((await userOf(id)).role).toBe('admin');
    const [entry] = await asSystem(platform, org.id, (scope) => listAudit(scope, { action: 'user.role_changed' }));
    expect(entry).toMatchObject({ targetId: id, actorType: 'api_token', changes: { role: { before: 'member', after: 'admin' } } });
  });

  it('refuses a role this kind of organisation does not have, naming the field, writing nothing', async () => {
    const id = await invite();
    const before = await tenantCounts(platform, org.id);
    const problem = expectProblem(await setRole(id, 'headteacher'), 400);
    expect(problem.errors).toEqual([{ field: 'role', reason: 'is not a role of a school organisation' }]);
    expect(await tenantCounts(platform, org.id)).toEqual(before);
  });

  it('never demotes or disables the last admin', async () => {
    const solo = await createTestOrganisation(platform);
    const before = await tenantCounts(platform, solo.id);
    expectProblem(await setRole(solo.adminUserId, 'member', solo.token), 409);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/users/${solo.adminUserId}/disable`, headers: bearer(solo.token) }), 409);
    expect(await tenantCounts(platform, solo.id)).toEqual(before);
    const admin = await asSystem(platform, solo.id, (scope) => getUser(scope, solo.adminUserId));
    expect(admin).toMatchObject({ role: 'admin', status: 'invited' });
  });

  it('lets an admin step down once another admin exists', async () => {
    const second = await invite('admin');
    expect((await setRole(org.adminUserId, 'member')).statusCode).toBe(204);
    expect((await setRole(org.adminUserId, 'admin')).statusCode).toBe(204);
    expect((await userOf(second)).role).toBe('admin');
  });

  it('disables a member, audited; a read token may not', async () => {
    const id = await invite();
    const reader = await issueToken(platform, org.id, ['read']);
    expectProblem(await app.inject({ method: 'POST', url: `/api/v1/users/${id}/disable`, headers: bearer(reader.token) }), 403);
    expect((await app.inject({ method: 'POST', url: `/api/v1/users/${id}/disable`, headers: bearer(org.token) })).statusCode).toBe(204);
    expect((await userOf(id)).status).toBe('disabled');
    const entries = await asSystem(platform, org.id, (scope) => listAudit(scope, { action: 'user.disabled' }));
    expect(entries.map((e) => e.targetId)).toContain(id);
  });
});
