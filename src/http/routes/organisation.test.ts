import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { buildServer } from '../server.ts';
import { bearer, expectProblem, issueToken } from '../testing.ts';

let platform: TestPlatform;
let app: FastifyInstance;
let org: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform, { kind: 'practice' });
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('GET /api/v1/organisation', () => {
  it('needs a token', async () => {
    expectProblem(await app.inject({ url: '/api/v1/organisation' }), 401);
  });

  it("returns the token's own organisation to a read token", async () => {
    const { token } = await issueToken(platform, org.id, ['read']);
    const response = await app.inject({ url: '/api/v1/organisation', headers: bearer(token) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      id: org.id,
      kind: 'practice',
      name: org.name,
      parentId: null,
      status: 'active',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('ignores tenant hints in headers: the token alone decides the organisation', async () => {
    const other = await createTestOrganisation(platform);
    const response = await app.inject({
      url: '/api/v1/organisation',
      headers: { ...bearer(org.token), 'x-tenant-id': other.id, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(response.json().id).toBe(org.id);
  });

  it('stops answering to the tokens of a cancelled organisation', async () => {
    const doomed = await createTestOrganisation(platform);
    expect((await app.inject({ url: '/api/v1/organisation', headers: bearer(doomed.token) })).statusCode).toBe(200);
    await platform.inTenant(
      { tenantId: doomed.id, actor: { type: 'system', id: null }, meta: { requestId: 'test-cancel' } },
      (scope) => scope.trx.updateTable('organisations').set({ status: 'cancelled', cancelled_at: new Date() }).execute(),
    );
    expectProblem(await app.inject({ url: '/api/v1/organisation', headers: bearer(doomed.token) }), 401);
  });
});
