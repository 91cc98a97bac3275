import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { revokeApiToken } from '../../platform/identity/api-tokens.ts';
import { buildServer } from '../server.ts';
import { forgetTokenTouches } from '../tenant-route.ts';
import { bearer, expectProblem, issueToken, tenantCounts } from '../testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;
let readToken: string;

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform);
  readToken = (await issueToken(platform, org.id, ['read'], 'read only')).token;
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

async function queuedMails(): Promise<number> {
  const result = await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = 'mail.send'`.execute(platform.db.owner);
  return result.rows[0]!.n;
}

describe('authentication', () => {
  it('answers 401 with one message for a missing, malformed, unknown or revoked token', async () => {
    const revoked = await issueToken(platform, org.id, ['admin'], 'to revoke');
    await asSystem(platform, org.id, (scope) => revokeApiToken(scope, revoked.id));
    const details = new Set<unknown>();
    for (const headers of [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      bearer('cst_thisTokenDoesNotExist'),
      bearer('not-even-a-custos-token'),
      bearer(revoked.token),
    ]) {
      details.add(expectProblem(await app.inject({ url: '/api/v1/users', headers }), 401).detail);
    }
    expect(details.size).toBe(1);
  });

  it('refuses an expired token', async () => {
    const expiring = await issueToken(platform, org.id, ['admin'], 'expiring');
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(expiring.token) })).statusCode).toBe(200);
    await asSystem(platform, org.id, (scope) =>
      scope.trx.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expiring.id).execute(),
    );
    expectProblem(await app.inject({ url: '/api/v1/users', headers: bearer(expiring.token) }), 401);
  });

  it("records the token's last use at most once a minute", async () => {
    const { token, id } = await issueToken(platform, org.id, ['read'], 'last used');
    const lastUsed = () =>
      asSystem(platform, org.id, async (scope) =>
        (await scope.trx.selectFrom('api_tokens').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow()).last_used_at,
      );
    expect(await lastUsed()).toBeNull();
    await app.inject({ url: '/api/v1/users', headers: bearer(token) });
    const first = await lastUsed();
    expect(first).not.toBeNull();
    await app.inject({ url: '/api/v1/users', headers: bearer(token) });
    expect(await lastUsed()).toEqual(first);
    const stale = new Date(Date.now() - 120_000);
    await asSystem(platform, org.id, (scope) => scope.trx.updateTable('api_tokens').set({ last_used_at: stale }).where('id', '=', id).execute());
    // This process touched it under a minute ago, so it does not even ask the database.
    await app.inject({ url: '/api/v1/users', headers: bearer(token) });
    expect(await lastUsed()).toEqual(stale);
    // Another process (no memory of touches) finds the recorded use stale and refreshes it.
    forgetTokenTouches();
    await app.inject({ url: '/api/v1/users', headers: bearer(token) });
    expect(new Date((await lastUsed())!).getTime()).toBeGreaterThan(stale.getTime() + 60_000);
  });

  it('does not queue behind another transaction that holds the token row (PostgreSQL)', async () => {
    // The embedded database has one connection, so a held transaction would block everything there.
    if (platform.db.kind !== 'postgres') return;
    const { token, id } = await issueToken(platform, org.id, ['read'], 'contended');
    let release!: () => void;
    let rowLocked!: () => void;
    const locked = new Promise<void>((resolve) => (rowLocked = resolve));
    const holder = asSystem(platform, org.id, async (scope) => {
      await scope.trx.selectFrom('api_tokens').select('id').where('id', '=', id).forUpdate().execute();
      rowLocked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await locked;
    const outcome = await Promise.race([
      app.inject({ url: '/api/v1/users', headers: bearer(token) }).then((r) => r.statusCode),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000)),
    ]);
    release();
    await holder;
    expect(outcome).toBe(200);
  });
});

describe('GET /api/v1/users', () => {
  it('needs a token', async () => {
    expectProblem(await app.inject({ url: '/api/v1/users' }), 401);
  });

  it("lists the organisation's users to a read token", async () => {
    const response = await app.inject({ url: '/api/v1/users', headers: bearer(readToken) });
    expect(response.statusCode).toBe(200);
    const { users } = response.json();
    expect(users).toContainEqual(expect.objectContaining({ id: org.adminUserId, email: org.adminEmail, role: 'admin', status: 'invited' }));
  });
});

describe('GET /api/v1/users/:id', () => {
  it('needs a token', async () => {
    expectProblem(await app.inject({ url: `/api/v1/users/${org.adminUserId}` }), 401);
  });

  it('returns one user to a read token', async () => {
    const response = await app.inject({ url: `/api/v1/users/${org.adminUserId}`, headers: bearer(readToken) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: org.adminUserId, email: org.adminEmail });
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expectProblem(await app.inject({ url: '/api/v1/users/6b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e', headers: bearer(readToken) }), 404);
    const bad = expectProblem(await app.inject({ url: "/api/v1/users/1'%20OR%201=1--", headers: bearer(readToken) }), 400);
    expect(bad.errors).toEqual([{ field: 'id', reason: expect.stringContaining('user id') }]);
  });
});

describe('POST /api/v1/users/invitations', () => {
  const url = '/api/v1/users/invitations';

  it('needs a token, and the admin scope', async () => {
    const person = fakePerson();
    const before = await tenantCounts(platform, org.id);
    expectProblem(await app.inject({ method: 'POST', url, payload: { email: person.email } }), 401);
    const forbidden = expectProblem(await app.inject({ method: 'POST', url, headers: bearer(readToken), payload: { email: person.email } }), 403);
    expect(forbidden.detail).toContain('admin');
    expect(await tenantCounts(platform, org.id)).toEqual(before);
  });

  it('invites, queues the email in the same transaction, and never returns the link', async () => {
    const person = fakePerson();
    const mailsBefore = await queuedMails();
    const response = await app.inject({ method: 'POST', url, headers: bearer(org.token), payload: { email: person.email, displayName: person.name, role: 'member' } });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'userId']);
    expect(response.body).not.toMatch(/invite\//);
    expect(new Date(body.expiresAt).getTime() - Date.now()).toBeGreaterThan(71 * 3600_000);
    expect(await queuedMails()).toBe(mailsBefore + 1);
    const user = await app.inject({ url: `/api/v1/users/${body.userId}`, headers: bearer(org.token) });
    expect(user.json()).toMatchObject({ email: person.email, displayName: person.name, role: 'member', status: 'invited' });
  });

  it('answers 409 for an email already in the organisation, writing nothing', async () => {
    const before = await tenantCounts(platform, org.id);
    const mailsBefore = await queuedMails();
    const response = await app.inject({ method: 'POST', url, headers: bearer(org.token), payload: { email: org.adminEmail.toUpperCase() } });
    expect(expectProblem(response, 409).type).toBe('https://custos.invalid/problems/conflict');
    expect(await tenantCounts(platform, org.id)).toEqual(before);
    expect(await queuedMails()).toBe(mailsBefore);
  });

  it.each([
    ['a bad email', { email: 'not-an-email' }, 'email', 'must be an email address'],
    ['a missing email', { displayName: 'No Email' }, 'email', 'is required'],
    ['an unknown role', { email: 'someone@example.test', role: 'owner' }, 'role', 'is not a role of a school organisation'],
    ['an empty display name', { email: 'someone@example.test', displayName: '  ' }, 'displayName', 'must not be empty'],
    ['an unknown field', { email: 'someone@example.test', status: 'active' }, 'status', 'is not a known field'],
    ['a wrong type', { email: 42 }, 'email', 'expected string'],
  ])('refuses %s with a 400 naming the field, writing nothing', async (_case, payload, field, reason) => {
    const before = await tenantCounts(platform, org.id);
    const mailsBefore = await queuedMails();
    const problem = expectProblem(await app.inject({ method: 'POST', url, headers: bearer(org.token), payload }), 400);
    expect(problem.errors).toContainEqual({ field, reason: expect.stringContaining(reason) });
    expect(await tenantCounts(platform, org.id)).toEqual(before);
    expect(await queuedMails()).toBe(mailsBefore);
  });

  it('refuses a body that is not a JSON object', async () => {
    const before = await tenantCounts(platform, org.id);
    for (const payload of ['[]', '"x"', 'null', '{"email":']) {
      expectProblem(
        await app.inject({ method: 'POST', url, headers: { ...bearer(org.token), 'content-type': 'application/json' }, payload }),
        400,
      );
    }
    expect(await tenantCounts(platform, org.id)).toEqual(before);
  });
});
