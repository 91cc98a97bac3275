import crypto from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { listApiTokens } from '../platform/identity/api-tokens.ts';
import { listUsers } from '../platform/identity/users.ts';
import { buildServer, registeredRoutes } from './server.ts';
import { bearer, expectProblem, issueToken, tenantCounts } from './testing.ts';

/**
 * Route inventory: every route the server registers must appear either in the public allowlist
 * or in PROBES below, which calls it as tenant B against tenant A's ids. Adding a route without a
 * probe fails this file.
 */

/** Routes anyone may call, and why. Everything else must authenticate. */
const PUBLIC_ROUTES: Record<string, string> = {
  'GET /api/health': 'liveness; reads no tenant data',
  'GET /api/openapi.json': 'the API contract',
  'GET /': 'the web app shell',
  'GET /*': 'the web app build, when one exists',
};
const PUBLIC_PREFIXES = ['GET /api/docs'];

let platform: TestPlatform;
let app: FastifyInstance;
let a: TestOrganisation;
let b: TestOrganisation;
let aTokenId: string;
let aMemberId: string;
let aMemberEmail: string;
/** Strings that identify tenant A: none may appear in any answer given to tenant B. */
let aSecrets: string[];

interface Probe {
  /** Calls the route as B, aimed at A's resources, and checks what B got. */
  (call: (options: { method?: string; url: string; payload?: unknown }) => Promise<LightMyRequestResponse>): Promise<void>;
}

/**
 * The authorisation matrix for API tokens, as data: the scope each /api/v1 route demands.
 * `admin` includes `read`. The tests below are generated from it.
 */
const REQUIRED_SCOPE: Record<string, 'read' | 'admin'> = {
  'GET /api/v1/organisation': 'read',
  'GET /api/v1/users': 'read',
  'GET /api/v1/users/:id': 'read',
  'POST /api/v1/users/invitations': 'admin',
  'GET /api/v1/api-tokens': 'read',
  'POST /api/v1/api-tokens': 'admin',
  'DELETE /api/v1/api-tokens/:id': 'admin',
  'GET /api/v1/audit': 'admin',
  'GET /api/v1/audit/export.csv': 'admin',
  'GET /api/v1/audit/verify': 'admin',
  'GET /api/v1/permissions': 'read',
  'PUT /api/v1/users/:id/role': 'admin',
  'POST /api/v1/users/:id/disable': 'admin',
};

const PROBES: Record<string, Probe> = {
  'GET /api/v1/organisation': async (call) => {
    const response = await call({ url: '/api/v1/organisation' });
    expect(response.json().id).toBe(b.id);
  },
  'GET /api/v1/users': async (call) => {
    const response = await call({ url: '/api/v1/users' });
    expect(response.statusCode).toBe(200);
    expect(response.json().users.map((u: { id: string }) => u.id)).toContain(b.adminUserId);
  },
  'GET /api/v1/users/:id': async (call) => {
    for (const id of [a.adminUserId, aMemberId]) expectProblem(await call({ url: `/api/v1/users/${id}` }), 404);
  },
  'POST /api/v1/users/invitations': async (call) => {
    const response = await call({ method: 'POST', url: '/api/v1/users/invitations', payload: { email: fakePerson().email } });
    expect(response.statusCode).toBe(201);
    const created = await asSystem(platform, b.id, (scope) => listUsers(scope));
    expect(created.map((u) => u.id)).toContain(response.json().userId);
  },
  'GET /api/v1/api-tokens': async (call) => {
    const response = await call({ url: '/api/v1/api-tokens' });
    expect(response.statusCode).toBe(200);
    expect(response.json().apiTokens.length).toBeGreaterThan(0);
  },
  'POST /api/v1/api-tokens': async (call) => {
    const response = await call({ method: 'POST', url: '/api/v1/api-tokens', payload: { name: 'b probe', scopes: ['read'] } });
    expect(response.statusCode).toBe(201);
    const bTokens = await asSystem(platform, b.id, listApiTokens);
    expect(bTokens.map((t) => t.id)).toContain(response.json().id);
  },
  'DELETE /api/v1/api-tokens/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/api-tokens/${aTokenId}` }), 404);
  },
  'GET /api/v1/audit': async (call) => {
    for (const query of ['', `?actor=${aTokenId}`, '?action=user.invited&limit=1000']) {
      const response = await call({ url: `/api/v1/audit${query}` });
      expect(response.statusCode).toBe(200);
      expect(response.json().entries.every((e: { actorId: string | null }) => e.actorId !== aTokenId)).toBe(true);
    }
    expect((await call({ url: `/api/v1/audit?actor=${aTokenId}` })).json().entries).toEqual([]);
  },
  'GET /api/v1/audit/export.csv': async (call) => {
    const response = await call({ url: `/api/v1/audit/export.csv?actor=${aTokenId}` });
    expect(response.statusCode).toBe(200);
    expect(response.body.trim().split('\n')).toHaveLength(1);
    expect((await call({ url: '/api/v1/audit/export.csv' })).body).toContain(b.adminUserId);
  },
  'GET /api/v1/audit/verify': async (call) => {
    const response = await call({ url: '/api/v1/audit/verify' });
    expect(response.json()).toMatchObject({ tenantId: b.id, ok: true });
  },
  'GET /api/v1/permissions': async (call) => {
    const response = await call({ url: '/api/v1/permissions' });
    expect(response.statusCode).toBe(200);
    expect(response.json().roles.map((r: { name: string }) => r.name)).toContain('admin');
  },
  'PUT /api/v1/users/:id/role': async (call) => {
    for (const id of [a.adminUserId, aMemberId]) {
      expectProblem(await call({ method: 'PUT', url: `/api/v1/users/${id}/role`, payload: { role: 'admin' } }), 404);
    }
  },
  'POST /api/v1/users/:id/disable': async (call) => {
    for (const id of [a.adminUserId, aMemberId]) expectProblem(await call({ method: 'POST', url: `/api/v1/users/${id}/disable` }), 404);
  },
};

async function snapshotOfA() {
  const users = await asSystem(platform, a.id, listUsers);
  const tokens = await asSystem(platform, a.id, listApiTokens);
  return {
    counts: await tenantCounts(platform, a.id),
    users: users.map((u) => ({ id: u.id, email: u.email, role: u.role, status: u.status })),
    tokens: tokens.map((t) => ({ id: t.id, revokedAt: t.revokedAt, scopes: t.scopes })),
  };
}

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  // Give A activity made through the API, so its audit trail holds API-made entries too.
  aMemberEmail = fakePerson().email;
  const invited = await app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers: bearer(a.token), payload: { email: aMemberEmail } });
  aMemberId = invited.json().userId;
  aTokenId = (await asSystem(platform, a.id, listApiTokens))[0]!.id;
  aSecrets = [a.id, a.name, a.adminUserId, a.adminEmail, a.token, aTokenId, aMemberId, aMemberEmail];
});

afterAll(async () => {
  await app?.close();
  await platform?.close();
});

describe('route inventory', () => {
  it('captures the routes the server registers', () => {
    const routes = registeredRoutes(app).map((r) => `${r.method} ${r.url}`);
    expect(routes).toEqual(expect.arrayContaining(['GET /api/health', 'GET /api/v1/users', 'DELETE /api/v1/api-tokens/:id']));
  });

  it('has every route either public by decision or authenticated', () => {
    for (const route of registeredRoutes(app)) {
      const key = `${route.method} ${route.url}`;
      const isPublic = key in PUBLIC_ROUTES || PUBLIC_PREFIXES.some((prefix) => key.startsWith(prefix));
      if (isPublic) {
        expect(route.url.startsWith('/api/v1'), `${key} is public but under /api/v1`).toBe(false);
      } else {
        expect(route.authenticated, `${key} must authenticate or be added to PUBLIC_ROUTES with a reason`).toBe(true);
        expect(route.scope, `${key} must declare the scope it needs`).toBeDefined();
      }
    }
  });

  it('has a cross-tenant probe for every /api/v1 route, and no stale probes', () => {
    const v1 = registeredRoutes(app).filter((r) => r.url.startsWith('/api/v1')).map((r) => `${r.method} ${r.url}`);
    expect(v1.filter((key) => !(key in PROBES)), 'routes without a cross-tenant probe').toEqual([]);
    expect(Object.keys(PROBES).filter((key) => !v1.includes(key)), 'probes for routes that no longer exist').toEqual([]);
  });
});

describe('authorisation matrix', () => {
  it('covers exactly the /api/v1 routes, each declaring the scope the matrix gives it', () => {
    const v1 = registeredRoutes(app).filter((r) => r.url.startsWith('/api/v1'));
    expect(Object.fromEntries(v1.map((r) => [`${r.method} ${r.url}`, r.scope]))).toEqual(REQUIRED_SCOPE);
  });

  it('refuses every route without a token, and the admin routes to a read token, before reading the body', async () => {
    const readToken = (await issueToken(platform, b.id, ['read'], 'matrix read')).token;
    const before = await tenantCounts(platform, b.id);
    for (const [key, scope] of Object.entries(REQUIRED_SCOPE)) {
      const [method, path] = key.split(' ') as ['GET', string];
      const url = path.replace(':id', crypto.randomUUID());
      // A body that would fail validation: the scope check must answer first.
      const payload = method === 'GET' ? undefined : { unexpected: true };
      expectProblem(await app.inject({ method, url, payload }), 401);
      const withRead = await app.inject({ method, url, payload, headers: bearer(readToken) });
      if (scope === 'admin') expectProblem(withRead, 403);
      else expect([200, 404], `${key} with a read token`).toContain(withRead.statusCode);
    }
    expect(await tenantCounts(platform, b.id)).toEqual(before);
  });
});

describe("tenant B's admin token against tenant A", () => {
  it("never shows B any of A's data and never changes A, on every /api/v1 route", async () => {
    const before = await snapshotOfA();
    const v1 = registeredRoutes(app).filter((r) => r.url.startsWith('/api/v1'));
    expect(v1.length).toBe(Object.keys(PROBES).length);
    for (const route of v1) {
      const key = `${route.method} ${route.url}`;
      const calls: { sent: string; response: LightMyRequestResponse }[] = [];
      await PROBES[key]!(async ({ method = 'GET', url, payload }) => {
        // Tenant hints in headers must change nothing: the token alone decides the tenant.
        const response = await app.inject({ method: method as 'GET', url, payload: payload as object, headers: { ...bearer(b.token), 'x-tenant-id': a.id } });
        calls.push({ sent: url + JSON.stringify(payload ?? null), response });
        return response;
      });
      expect(calls.length, `${key} probe made a call`).toBeGreaterThan(0);
      for (const { sent, response } of calls) {
        expect([200, 201, 204, 403, 404], `${key} status`).toContain(response.statusCode);
        // An id B itself sent may come back (a problem's `instance` is the request path); nothing else of A's may.
        for (const secret of aSecrets.filter((s) => !sent.includes(s))) {
          expect(response.body, `${key} leaked ${secret}`).not.toContain(secret);
        }
      }
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it("leaves A's token working and A's data intact afterwards", async () => {
    const response = await app.inject({ url: '/api/v1/users', headers: bearer(a.token) });
    expect(response.statusCode).toBe(200);
    expect(response.json().users.map((u: { id: string }) => u.id).sort()).toEqual([a.adminUserId, aMemberId].sort());
    expect((await app.inject({ url: '/api/v1/audit/verify', headers: bearer(a.token) })).json()).toMatchObject({ tenantId: a.id, ok: true });
  });

  it("gives no sign that an email is already used in A when B invites it", async () => {
    const before = await snapshotOfA();
    const response = await app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers: bearer(b.token), payload: { email: a.adminEmail } });
    expect(response.statusCode).toBe(201);
    expect(await snapshotOfA()).toEqual(before);
  });
});
