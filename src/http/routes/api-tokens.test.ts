import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { buildServer } from '../server.ts';
import { bearer, expectProblem, issueToken, tenantCounts } from '../testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;
let read: { token: string; id: string };

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform);
  read = await issueToken(platform, org.id, ['read'], 'read only');
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('GET /api/v1/api-tokens', () => {
  it('needs a token', async () => {
    expectProblem(await app.inject({ url: '/api/v1/api-tokens' }), 401);
  });

  it('lists tokens to a read token without any secret or hash', async () => {
    const response = await app.inject({ url: '/api/v1/api-tokens', headers: bearer(read.token) });
    expect(response.statusCode).toBe(200);
    const { apiTokens } = response.json();
    expect(apiTokens.map((t: { id: string }) => t.id)).toContain(read.id);
    expect(response.body).not.toContain(read.token);
    expect(response.body).not.toContain(org.token);
    expect(response.body).not.toMatch(/hash/i);
    expect(apiTokens.find((t: { id: string }) => t.id === read.id)).toMatchObject({ name: 'read only', scopes: ['read'], prefix: read.token.slice(0, 10) });
  });
});

describe('POST /api/v1/api-tokens', () => {
  const url = '/api/v1/api-tokens';

  it('needs a token, and the admin scope', async () => {
    const before = await tenantCounts(platform, org.id);
    expectProblem(await app.inject({ method: 'POST', url, payload: { name: 'x', scopes: ['read'] } }), 401);
    expectProblem(await app.inject({ method: 'POST', url, headers: bearer(read.token), payload: { name: 'x', scopes: ['admin'] } }), 403);
    expect(await tenantCounts(platform, org.id)).toEqual(before);
  });

  it('issues a token shown once that then authenticates with its scopes', async () => {
    const response = await app.inject({ method: 'POST', url, headers: bearer(org.token), payload: { name: 'CI export', scopes: ['read'], expiresInDays: 30 } });
    expect(response.statusCode).toBe(201);
    const created = response.json();
    expect(created.token).toMatch(/^cst_/);
    expect(created).toMatchObject({ name: 'CI export', scopes: ['read'], revokedAt: null });
    expect(new Date(created.expiresAt).getTime() - Date.now()).toBeGreaterThan(29 * 86400_000);
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(created.token) })).statusCode).toBe(200);
    expectProblem(await app.inject({ method: 'POST', url, headers: bearer(created.token), payload: { name: 'escalate', scopes: ['admin'] } }), 403);
    const listed = await app.inject({ url, headers: bearer(org.token) });
    expect(listed.body).not.toContain(created.token);
  });

  it.each([
    ['an unknown scope', { name: 'x', scopes: ['root'] }, 'scopes.0'],
    ['no scopes', { name: 'x', scopes: [] }, 'scopes'],
    ['a missing name', { scopes: ['read'] }, 'name'],
    ['an over-long expiry', { name: 'x', scopes: ['read'], expiresInDays: 100000 }, 'expiresInDays'],
    ['an unknown field', { name: 'x', scopes: ['read'], tenantId: '6b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e' }, 'tenantId'],
  ])('refuses %s with a 400 naming the field, writing nothing', async (_case, payload, field) => {
    const before = await tenantCounts(platform, org.id);
    const problem = expectProblem(await app.inject({ method: 'POST', url, headers: bearer(org.token), payload }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(await tenantCounts(platform, org.id)).toEqual(before);
  });
});

describe('DELETE /api/v1/api-tokens/:id', () => {
  it('needs a token, and the admin scope', async () => {
    const victim = await issueToken(platform, org.id, ['read'], 'victim');
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${victim.id}` }), 401);
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${victim.id}`, headers: bearer(read.token) }), 403);
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(victim.token) })).statusCode).toBe(200);
  });

  it('revokes: 204, the token stops working at once, and a second revoke is 404', async () => {
    const victim = await issueToken(platform, org.id, ['admin'], 'victim');
    const response = await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${victim.id}`, headers: bearer(org.token) });
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expectProblem(await app.inject({ url: '/api/v1/users', headers: bearer(victim.token) }), 401);
    expectProblem(await app.inject({ method: 'DELETE', url: `/api/v1/api-tokens/${victim.id}`, headers: bearer(org.token) }), 404);
  });

  it('refuses a token revoked a moment ago by another process, though it was just admitted', async () => {
    const busy = await issueToken(platform, org.id, ['read'], 'busy');
    expect((await app.inject({ url: '/api/v1/users', headers: bearer(busy.token) })).statusCode).toBe(200);
    // Revoked straight in the database, as another server process would: this process's early
    // admission cache still knows the token, the check inside the request's transaction does not.
    await platform.db.owner.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', busy.id).execute();
    expectProblem(await app.inject({ url: '/api/v1/users', headers: bearer(busy.token) }), 401);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expectProblem(await app.inject({ method: 'DELETE', url: '/api/v1/api-tokens/6b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e', headers: bearer(org.token) }), 404);
    expectProblem(await app.inject({ method: 'DELETE', url: '/api/v1/api-tokens/42', headers: bearer(org.token) }), 400);
  });
});
