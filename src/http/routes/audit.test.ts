import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listApiTokens } from '../../platform/identity/api-tokens.ts';
import { asSystem } from '../../../test/factories.ts';
import { buildServer } from '../server.ts';
import { bearer, expectProblem, issueToken } from '../testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;
let adminTokenId: string;
let readToken: string;

const ROUTES = ['/api/v1/audit', '/api/v1/audit/export.csv', '/api/v1/audit/verify'];

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform);
  adminTokenId = (await asSystem(platform, org.id, listApiTokens)).find((t) => t.name === 'test token')!.id;
  readToken = (await issueToken(platform, org.id, ['read'], 'read only')).token;
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('access to the audit trail', () => {
  it.each(ROUTES)('%s needs a token', async (url) => {
    expectProblem(await app.inject({ url }), 401);
  });

  it.each(ROUTES)('%s needs the admin scope', async (url) => {
    expectProblem(await app.inject({ url, headers: bearer(readToken) }), 403);
  });
});

describe('an invitation made through the API', () => {
  const person = fakePerson();
  const requestId = '1f0e9d8c-7b6a-4c5d-9e8f-0a1b2c3d4e5f';
  const userAgent = 'custos-audit-test/1.0';
  let userId: string;

  beforeAll(async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/users/invitations',
      headers: { ...bearer(org.token), 'x-request-id': requestId, 'user-agent': userAgent },
      remoteAddress: '198.51.100.23',
      payload: { email: person.email, displayName: person.name },
    });
    expect(response.statusCode).toBe(201);
    userId = response.json().userId;
  });

  it('is recorded with the token as actor, the request id, IP and user agent', async () => {
    const response = await app.inject({ url: '/api/v1/audit?action=user.invited&limit=10', headers: bearer(org.token) });
    expect(response.statusCode).toBe(200);
    const entry = response.json().entries.find((e: { targetId: string }) => e.targetId === userId);
    expect(entry).toMatchObject({
      action: 'user.invited',
      actorType: 'api_token',
      actorId: adminTokenId,
      targetType: 'user',
      requestId,
      ip: '198.51.100.23',
      userAgent,
      changes: { email: { changed: true, personal: true }, role: { after: 'member' } },
    });
    // The trail says a personal field changed, never its value.
    expect(response.body).not.toContain(person.email);
    expect(response.body).not.toContain(person.name);
  });

  it('filters by actor, action and time', async () => {
    const byActor = (await app.inject({ url: `/api/v1/audit?actor=${adminTokenId}`, headers: bearer(org.token) })).json().entries;
    expect(byActor.length).toBeGreaterThan(0);
    expect(byActor.every((e: { actorId: string }) => e.actorId === adminTokenId)).toBe(true);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await app.inject({ url: `/api/v1/audit?from=${encodeURIComponent(future)}`, headers: bearer(org.token) })).json().entries).toEqual([]);
    const created = (await app.inject({ url: '/api/v1/audit?action=organisation.created', headers: bearer(org.token) })).json().entries;
    expect(created.map((e: { action: string }) => e.action)).toEqual(['organisation.created']);
    const page = (await app.inject({ url: '/api/v1/audit?limit=1&before=3', headers: bearer(org.token) })).json().entries;
    expect(page.map((e: { seq: number }) => e.seq)).toEqual([2]);
  });

  it('appears in the CSV export, which downloads as an attachment', async () => {
    const response = await app.inject({ url: '/api/v1/audit/export.csv?action=user.invited', headers: bearer(org.token) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="audit-\d{4}-\d\d-\d\d\.csv"$/);
    const [header, ...rows] = response.body.trim().split('\n');
    expect(header).toContain('requestId');
    expect(rows.some((row) => row.includes(userId) && row.includes(requestId) && row.includes(adminTokenId))).toBe(true);
    expect(rows.every((row) => row.includes('user.invited'))).toBe(true);
  });

  it('leaves a chain that verifies', async () => {
    const response = await app.inject({ url: '/api/v1/audit/verify', headers: bearer(org.token) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ tenantId: org.id, ok: true, problems: [] });
    expect(response.json().entries).toBeGreaterThanOrEqual(4);
  });
});

describe('bad audit queries', () => {
  it.each([
    ['limit=0', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=5000', 'limit'],
    ['from=yesterday', 'from'],
    ['before=-1', 'before'],
    ['search=x', 'search'],
  ])('refuses ?%s with a 400 naming the field', async (query, field) => {
    const problem = expectProblem(await app.inject({ url: `/api/v1/audit?${query}`, headers: bearer(org.token) }), 400);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });
});
