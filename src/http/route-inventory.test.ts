import crypto from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { listApiTokens } from '../platform/identity/api-tokens.ts';
import { listUsers } from '../platform/identity/users.ts';
import { getOrganisationSettings } from '../platform/organisations/settings.ts';
import { permissionsOf } from '../platform/access/roles.ts';
import { excludeMember, grant, listGrants, sharingOverview } from '../products/sync/sharing.ts';
import { createConnection, listConnections } from '../products/sync/connections.ts';
import { createApiClient, listApiClients } from '../products/sync/oneroster-provider.ts';
import { listWebhooks, registerWebhook } from '../products/sync/webhooks.ts';
import { addClientUser } from '../products/client-portal/client-users.ts';
import { createClient } from '../products/client-portal/clients.ts';
import { createFolder } from '../products/client-portal/documents/folders.ts';
import { sendFlow } from '../products/client-portal/flows/flows.ts';
import { createInvoice } from '../products/client-portal/invoices/invoices.ts';
import { sendRequest } from '../products/client-portal/requests/requests.ts';
import { createTemplate } from '../products/client-portal/requests/templates.ts';
import ExcelJS from 'exceljs';
import { pdf } from '../products/client-portal/documents/intake/testing/samples.ts';
import { importSharingSchool, type ImportedSchool } from '../products/sync/testing/sharing-fixture.ts';
import { buildServer, registeredRoutes, type RegisteredRoute } from './server.ts';
import { bearer, expectProblem, issueToken, tenantCounts, testSession } from './testing.ts';

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
  'POST /api/v1/auth/sign-in': 'how a session begins; throttled, one answer for every failure',
  'POST /api/v1/auth/invitations/accept': 'the emailed single-use link is the credential; throttled',
  'POST /api/v1/auth/password-reset': 'asks for a link by email; always 202; throttled',
  'POST /api/v1/auth/password-reset/complete': 'the emailed single-use link is the credential; throttled',
  'POST /ims/oneroster/v1p2/token': 'OAuth 2 client credentials for OneRoster apps: the client secret is the credential; throttled',
  'POST /api/v1/auth/practice-sign-up': 'self-service sign-up of a new practice; the emailed link is what makes it usable; throttled',
  'POST /api/public/payments/stripe': "Stripe's webhook: the Stripe-Signature over the raw body is the credential; replays change nothing",
  'POST /api/public/verify': 'anyone holding a signed document and its id may check it; answers only for that id and exact hash (0012)',
};
const PUBLIC_PREFIXES = ['GET /api/docs'];
/**
 * OneRoster 1.2 rostering routes: neither sessions nor Custos API tokens, but the OneRoster client's own
 * bearer token from the token endpoint, and the school's sharing grant to that client (tested below).
 */
const ONEROSTER_CLIENT_ROUTES = ['users', 'users/:id', 'students', 'teachers', 'classes', 'enrollments', 'orgs', 'demographics'].map(
  (path) => `GET /ims/oneroster/rostering/v1p2/${path}`,
);

let platform: TestPlatform;
let app: FastifyInstance;
let a: TestOrganisation;
let b: TestOrganisation;
let aTokenId: string;
let aMemberId: string;
let aMemberEmail: string;
/** A's school data and its grant to 'messaging' (with one pupil excluded). */
let aSync: ImportedSchool;
let aGrantId: string;
/** A's saved MIS connection (its secret is one of aSecrets). */
let aConnectionId: string;
/** A's OneRoster API client, granted everything in A (its id and secret are among aSecrets). */
let aApiClient: { id: string; clientId: string; clientSecret: string };
/** A's change-event webhook (its secret is one of aSecrets). */
let aWebhookId: string;
/** A practice standing beside A (A is a school): its client, client user, folder and document. */
let pa: TestOrganisation;
let paClientId: string;
let paClientUserId: string;
let paFolderId: string;
let paDocumentId: string;
let paFlowId: string;
let paInvoiceId: string;
let paInvoiceNumber: string;
let paTemplateId: string;
let paRequestId: string;
const aConnectionSecret = `a-secret-${crypto.randomBytes(8).toString('hex')}`;
/** Strings that identify tenant A: none may appear in any answer given to tenant B. */
let aSecrets: string[];

interface Probe {
  /** Calls the route as B, aimed at A's resources, and checks what B got. */
  (call: (options: { method?: string; url: string; payload?: unknown; headers?: Record<string, string> }) => Promise<LightMyRequestResponse>): Promise<void>;
}

type Access = { permission: string; scope: 'read' | 'admin' } | { session: { beforeMfa: boolean } };

/**
 * The authorisation matrix, as data: for routes open to API tokens and people, the permission a
 * person's role must hold and the scope a token must carry (`admin` includes `read`); for a
 * person's own-account routes, whether they may be used before MFA is passed. The tests below are
 * generated from it.
 */
const REQUIRED_ACCESS: Record<string, Access> = {
  'GET /api/v1/organisation': { permission: 'organisation.read', scope: 'read' },
  'GET /api/v1/organisation/settings': { permission: 'organisation.read', scope: 'read' },
  'PUT /api/v1/organisation/settings': { permission: 'settings.manage', scope: 'admin' },
  'GET /api/v1/users': { permission: 'users.read', scope: 'read' },
  'GET /api/v1/users/:id': { permission: 'users.read', scope: 'read' },
  'POST /api/v1/users/invitations': { permission: 'users.manage', scope: 'admin' },
  'GET /api/v1/api-tokens': { permission: 'api_tokens.manage', scope: 'read' },
  'POST /api/v1/api-tokens': { permission: 'api_tokens.manage', scope: 'admin' },
  'DELETE /api/v1/api-tokens/:id': { permission: 'api_tokens.manage', scope: 'admin' },
  'GET /api/v1/audit': { permission: 'audit.read', scope: 'admin' },
  'GET /api/v1/audit/export.csv': { permission: 'audit.read', scope: 'admin' },
  'GET /api/v1/audit/verify': { permission: 'audit.read', scope: 'admin' },
  'GET /api/v1/permissions': { permission: 'organisation.read', scope: 'read' },
  'PUT /api/v1/users/:id/role': { permission: 'users.manage', scope: 'admin' },
  'POST /api/v1/users/:id/disable': { permission: 'users.manage', scope: 'admin' },
  'POST /api/v1/users/:id/mfa/reset': { permission: 'users.manage', scope: 'admin' },
  'GET /api/v1/auth/session': { session: { beforeMfa: true } },
  'POST /api/v1/auth/sign-out': { session: { beforeMfa: true } },
  'POST /api/v1/auth/mfa/totp/enrolment': { session: { beforeMfa: true } },
  'POST /api/v1/auth/mfa/totp/enrolment/confirm': { session: { beforeMfa: true } },
  'POST /api/v1/auth/mfa/challenge': { session: { beforeMfa: true } },
  'POST /api/v1/auth/sign-out-everywhere': { session: { beforeMfa: false } },
  'POST /api/v1/auth/password': { session: { beforeMfa: false } },
  'POST /api/v1/auth/mfa/recovery-codes': { session: { beforeMfa: false } },
  'GET /api/v1/sync/pupils': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/pupils/:id': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/contacts': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/staff': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/groups': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/freshness': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/data-quality': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/runs': { permission: 'sync.read', scope: 'read' },
  'GET /api/v1/sync/runs/:id': { permission: 'sync.read', scope: 'read' },
  'POST /api/v1/sync/imports': { permission: 'sync.manage', scope: 'admin' },
  'GET /api/v1/sync/sharing': { permission: 'sync.sharing', scope: 'admin' },
  'POST /api/v1/sync/sharing/grants': { permission: 'sync.sharing', scope: 'admin' },
  'DELETE /api/v1/sync/sharing/grants/:id': { permission: 'sync.sharing', scope: 'admin' },
  'PUT /api/v1/sync/sharing/paused': { permission: 'sync.sharing', scope: 'admin' },
  'POST /api/v1/sync/sharing/grants/:id/exclusions': { permission: 'sync.sharing', scope: 'admin' },
  'DELETE /api/v1/sync/sharing/grants/:id/exclusions': { permission: 'sync.sharing', scope: 'admin' },
  'GET /api/v1/sync/connections': { permission: 'sync.read', scope: 'read' },
  'POST /api/v1/sync/connections': { permission: 'sync.manage', scope: 'admin' },
  'DELETE /api/v1/sync/connections/:id': { permission: 'sync.manage', scope: 'admin' },
  'POST /api/v1/sync/connections/:id/run': { permission: 'sync.manage', scope: 'admin' },
  'GET /api/v1/sync/api-clients': { permission: 'sync.sharing', scope: 'admin' },
  'POST /api/v1/sync/api-clients': { permission: 'sync.sharing', scope: 'admin' },
  'DELETE /api/v1/sync/api-clients/:id': { permission: 'sync.sharing', scope: 'admin' },
  'GET /api/v1/sync/webhooks': { permission: 'sync.sharing', scope: 'admin' },
  'POST /api/v1/sync/webhooks': { permission: 'sync.sharing', scope: 'admin' },
  'DELETE /api/v1/sync/webhooks/:id': { permission: 'sync.sharing', scope: 'admin' },
  'POST /api/v1/sync/webhooks/:id/replay': { permission: 'sync.sharing', scope: 'admin' },
  'GET /api/v1/portal/clients': { permission: 'portal.clients.read', scope: 'read' },
  'POST /api/v1/portal/clients': { permission: 'portal.clients.manage', scope: 'admin' },
  'GET /api/v1/portal/clients/:id': { permission: 'portal.clients.read', scope: 'read' },
  'PATCH /api/v1/portal/clients/:id': { permission: 'portal.clients.manage', scope: 'admin' },
  'DELETE /api/v1/portal/clients/:id': { permission: 'portal.clients.manage', scope: 'admin' },
  'GET /api/v1/portal/clients/:id/users': { permission: 'portal.clients.manage', scope: 'admin' },
  'POST /api/v1/portal/clients/:id/users': { permission: 'portal.clients.manage', scope: 'admin' },
  'DELETE /api/v1/portal/clients/:id/users/:userId': { permission: 'portal.clients.manage', scope: 'admin' },
  'GET /api/v1/portal/clients/:id/folders': { permission: 'portal.clients.read', scope: 'read' },
  'POST /api/v1/portal/clients/:id/folders': { permission: 'portal.documents.manage', scope: 'admin' },
  'DELETE /api/v1/portal/folders/:id': { permission: 'portal.documents.manage', scope: 'admin' },
  'GET /api/v1/portal/practice/balance': { permission: 'portal.billing.manage', scope: 'admin' },
  'POST /api/v1/portal/clients/:id/documents': { permission: 'portal.documents.upload', scope: 'admin' },
  'POST /api/v1/portal/documents/:id/versions': { permission: 'portal.documents.upload', scope: 'admin' },
  'GET /api/v1/portal/clients/:id/documents': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/documents/:id': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/documents/:id/content': { permission: 'portal.clients.read', scope: 'read' },
  'PATCH /api/v1/portal/documents/:id': { permission: 'portal.documents.manage', scope: 'admin' },
  'DELETE /api/v1/portal/documents/:id': { permission: 'portal.documents.manage', scope: 'admin' },
  'POST /api/v1/portal/flows': { permission: 'portal.flows.send', scope: 'admin' },
  'GET /api/v1/portal/flows': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/flows/dashboard': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/flows/:id': { permission: 'portal.clients.read', scope: 'read' },
  'POST /api/v1/portal/flows/:id/cancel': { permission: 'portal.flows.send', scope: 'admin' },
  'POST /api/v1/portal/flows/:id/response': { permission: 'portal.respond', scope: 'admin' },
  'POST /api/v1/portal/flows/:id/signature': { permission: 'portal.respond', scope: 'admin' },
  'POST /api/v1/portal/flows/:id/decline': { permission: 'portal.respond', scope: 'admin' },
  'GET /api/v1/portal/flows/:id/documents/:documentId/certificate': { permission: 'portal.clients.read', scope: 'read' },
  'POST /api/v1/portal/invoices': { permission: 'portal.invoices.manage', scope: 'admin' },
  'GET /api/v1/portal/invoices': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/invoices/export.xlsx': { permission: 'portal.invoices.manage', scope: 'read' },
  'GET /api/v1/portal/invoices/:id': { permission: 'portal.clients.read', scope: 'read' },
  'POST /api/v1/portal/invoices/:id/void': { permission: 'portal.invoices.manage', scope: 'admin' },
  'GET /api/v1/portal/invoices/:id/receipt': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/invoices/:id/pdf': { permission: 'portal.clients.read', scope: 'read' },
  'POST /api/v1/portal/invoices/:id/checkout': { permission: 'portal.clients.read', scope: 'admin' },
  'GET /api/v1/portal/practice/purchases': { permission: 'portal.billing.manage', scope: 'read' },
  'POST /api/v1/portal/practice/purchases': { permission: 'portal.billing.manage', scope: 'admin' },
  'GET /api/v1/portal/request-templates': { permission: 'portal.flows.send', scope: 'read' },
  'POST /api/v1/portal/request-templates': { permission: 'portal.flows.send', scope: 'admin' },
  'GET /api/v1/portal/request-templates/:id': { permission: 'portal.flows.send', scope: 'read' },
  'PUT /api/v1/portal/request-templates/:id': { permission: 'portal.flows.send', scope: 'admin' },
  'DELETE /api/v1/portal/request-templates/:id': { permission: 'portal.flows.send', scope: 'admin' },
  'POST /api/v1/portal/requests': { permission: 'portal.flows.send', scope: 'admin' },
  'GET /api/v1/portal/requests': { permission: 'portal.clients.read', scope: 'read' },
  'GET /api/v1/portal/requests/:id': { permission: 'portal.clients.read', scope: 'read' },
  'PUT /api/v1/portal/requests/:id/answers': { permission: 'portal.respond', scope: 'admin' },
  'POST /api/v1/portal/requests/:id/submit': { permission: 'portal.respond', scope: 'admin' },
  'POST /api/v1/portal/requests/:id/decline': { permission: 'portal.respond', scope: 'admin' },
  'POST /api/v1/portal/requests/:id/summary-decision': { permission: 'portal.respond', scope: 'admin' },
  'POST /api/v1/portal/requests/:id/complete': { permission: 'portal.flows.send', scope: 'admin' },
  'POST /api/v1/portal/requests/:id/cancel': { permission: 'portal.flows.send', scope: 'admin' },
  'POST /api/v1/portal/requests/:id/send-back': { permission: 'portal.flows.send', scope: 'admin' },
  'GET /api/v1/portal/clients/:id/mtd-summaries/:period': { permission: 'portal.flows.send', scope: 'read' },
  'PUT /api/v1/portal/clients/:id/mtd-summaries/:period': { permission: 'portal.flows.send', scope: 'admin' },
};

const isPublicKey = (key: string) => key in PUBLIC_ROUTES || PUBLIC_PREFIXES.some((prefix) => key.startsWith(prefix));
const keyOf = (route: { method: string; url: string }) => `${route.method} ${route.url}`;
/** Every route that needs a caller: what the matrix and the probes must cover. */
const guardedRoutes = () => registeredRoutes(app).filter((r) => r.url.startsWith('/api/v1') && !isPublicKey(keyOf(r)));

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
  'POST /api/v1/users/:id/mfa/reset': async (call) => {
    for (const id of [a.adminUserId, aMemberId]) expectProblem(await call({ method: 'POST', url: `/api/v1/users/${id}/mfa/reset` }), 404);
  },
  'GET /api/v1/organisation/settings': async (call) => {
    const response = await call({ url: '/api/v1/organisation/settings' });
    expect(response.json()).toEqual({ requireMfa: true, passwordMode: expect.any(String) });
  },
  'PUT /api/v1/organisation/settings': async (call) => {
    const response = await call({ method: 'PUT', url: '/api/v1/organisation/settings', payload: { passwordMode: 'nist' } });
    expect(response.json()).toEqual({ requireMfa: true, passwordMode: 'nist' });
  },
  'GET /api/v1/auth/session': async (call) => {
    const response = await call({ url: '/api/v1/auth/session' });
    expect(response.json()).toMatchObject({ user: { id: b.adminUserId }, organisation: { id: b.id } });
  },
  'POST /api/v1/auth/sign-out': async (call) => {
    expect((await call({ method: 'POST', url: '/api/v1/auth/sign-out' })).statusCode).toBe(204);
  },
  'POST /api/v1/auth/mfa/totp/enrolment': async (call) => {
    const response = await call({ method: 'POST', url: '/api/v1/auth/mfa/totp/enrolment' });
    expect(response.json().uri).toContain(encodeURIComponent(b.adminEmail));
  },
  'POST /api/v1/auth/mfa/totp/enrolment/confirm': async (call) => {
    const problem = expectProblem(await call({ method: 'POST', url: '/api/v1/auth/mfa/totp/enrolment/confirm', payload: { code: '000000' } }), 400);
    expect(problem.errors?.[0]?.field).toBe('code');
  },
  'POST /api/v1/auth/mfa/challenge': async (call) => {
    expectProblem(await call({ method: 'POST', url: '/api/v1/auth/mfa/challenge', payload: { code: '000000' } }), 409);
  },
  'POST /api/v1/auth/sign-out-everywhere': async (call) => {
    expect((await call({ method: 'POST', url: '/api/v1/auth/sign-out-everywhere' })).statusCode).toBe(204);
  },
  'POST /api/v1/auth/password': async (call) => {
    const payload = { currentPassword: 'not the password', newPassword: 'Another-Passw0rd!' };
    expectProblem(await call({ method: 'POST', url: '/api/v1/auth/password', payload }), 400);
  },
  'POST /api/v1/auth/mfa/recovery-codes': async (call) => {
    expectProblem(await call({ method: 'POST', url: '/api/v1/auth/mfa/recovery-codes', payload: { code: '000000' } }), 409);
  },
  'GET /api/v1/sync/pupils': async (call) => {
    for (const query of ['', '?search=smith', '?search=anna', `?group=${aSync.groups.G5A}`, '?group=5A&includeLeft=true']) {
      expect((await call({ url: `/api/v1/sync/pupils${query}` })).json()).toMatchObject({ items: [], total: 0 });
    }
  },
  'GET /api/v1/sync/pupils/:id': async (call) => {
    for (const id of Object.values(aSync.pupils)) expectProblem(await call({ url: `/api/v1/sync/pupils/${id}` }), 404);
  },
  'GET /api/v1/sync/contacts': async (call) => {
    expect((await call({ url: '/api/v1/sync/contacts?search=smith' })).json()).toMatchObject({ items: [], total: 0 });
  },
  'GET /api/v1/sync/staff': async (call) => {
    expect((await call({ url: '/api/v1/sync/staff?search=teacher' })).json()).toMatchObject({ items: [], total: 0 });
  },
  'GET /api/v1/sync/groups': async (call) => {
    expect((await call({ url: '/api/v1/sync/groups' })).json()).toMatchObject({ items: [], total: 0 });
  },
  'GET /api/v1/sync/freshness': async (call) => {
    expect((await call({ url: '/api/v1/sync/freshness' })).statusCode).toBe(200);
  },
  'GET /api/v1/sync/data-quality': async (call) => {
    const report = (await call({ url: '/api/v1/sync/data-quality' })).json();
    expect(report.issues).toEqual([]);
    expect(Object.values(report.counts).every((n) => n === 0)).toBe(true);
  },
  'GET /api/v1/sync/runs': async (call) => {
    expect((await call({ url: '/api/v1/sync/runs' })).statusCode).toBe(200);
  },
  'GET /api/v1/sync/runs/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/sync/runs/${aSync.runId}` }), 404);
  },
  'POST /api/v1/sync/imports': async (call) => {
    // B imports into B only; a staff CSV with A's fixture names lands in B and touches nothing of A.
    const mapping = encodeURIComponent(JSON.stringify({ entity: 'staff', columns: { misId: 'Id', forename: 'First', surname: 'Last' } }));
    const headers = { 'content-type': 'application/octet-stream' };
    const response = await call({ method: 'POST', url: `/api/v1/sync/imports?format=csv&mapping=${mapping}`, payload: 'Id,First,Last\nS1,Probe,Person\n', headers });
    expect(response.json()).toMatchObject({ status: 'succeeded' });
  },
  'GET /api/v1/sync/sharing': async (call) => {
    expect((await call({ url: '/api/v1/sync/sharing' })).statusCode).toBe(200);
  },
  'POST /api/v1/sync/sharing/grants': async (call) => {
    const response = await call({ method: 'POST', url: '/api/v1/sync/sharing/grants', payload: { granteeKind: 'product', grantee: 'messaging', scopes: ['staff'] } });
    expect(response.statusCode).toBe(201);
    expect((await asSystem(platform, b.id, (scope) => listGrants(scope))).map((g) => g.id)).toContain(response.json().id);
  },
  'DELETE /api/v1/sync/sharing/grants/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/sync/sharing/grants/${aGrantId}` }), 404);
  },
  'PUT /api/v1/sync/sharing/paused': async (call) => {
    expect((await call({ method: 'PUT', url: '/api/v1/sync/sharing/paused', payload: { paused: true } })).json()).toEqual({ paused: true });
  },
  'POST /api/v1/sync/sharing/grants/:id/exclusions': async (call) => {
    const [bGrant] = await asSystem(platform, b.id, (scope) => listGrants(scope));
    for (const id of [aGrantId, bGrant?.id ?? aGrantId]) {
      const payload = { memberKind: 'pupil', memberId: aSync.pupils.P2 };
      expectProblem(await call({ method: 'POST', url: `/api/v1/sync/sharing/grants/${id}/exclusions`, payload }), 404);
    }
  },
  'DELETE /api/v1/sync/sharing/grants/:id/exclusions': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/sync/sharing/grants/${aGrantId}/exclusions?memberKind=pupil&memberId=${aSync.pupils.P1}` }), 404);
  },
  'GET /api/v1/sync/connections': async (call) => {
    expect((await call({ url: '/api/v1/sync/connections' })).json().connections.map((c: { id: string }) => c.id)).not.toContain(aConnectionId);
  },
  'POST /api/v1/sync/connections': async (call) => {
    // B saves its own connection; A's connections are untouched.
    const payload = { kind: 'wonde', name: `B ${crypto.randomUUID()}`, settings: { baseUrl: 'https://api.wonde.test', token: 'b-token', schoolId: 'B1' } };
    const response = await call({ method: 'POST', url: '/api/v1/sync/connections', payload });
    expect(response.statusCode).toBe(201);
    expect((await asSystem(platform, b.id, listConnections)).map((c) => c.id)).toContain(response.json().id);
  },
  'DELETE /api/v1/sync/connections/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/sync/connections/${aConnectionId}` }), 404);
  },
  'POST /api/v1/sync/connections/:id/run': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/sync/connections/${aConnectionId}/run` }), 404);
  },
  'GET /api/v1/sync/api-clients': async (call) => {
    expect((await call({ url: '/api/v1/sync/api-clients' })).json().apiClients.map((c: { id: string }) => c.id)).not.toContain(aApiClient.id);
  },
  'POST /api/v1/sync/api-clients': async (call) => {
    const response = await call({ method: 'POST', url: '/api/v1/sync/api-clients', payload: { name: 'B app' } });
    expect(response.statusCode).toBe(201);
    expect((await asSystem(platform, b.id, listApiClients)).map((c) => c.id)).toContain(response.json().id);
  },
  'DELETE /api/v1/sync/api-clients/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/sync/api-clients/${aApiClient.id}` }), 404);
  },
  'GET /api/v1/sync/webhooks': async (call) => {
    const listed = (await call({ url: '/api/v1/sync/webhooks' })).json();
    expect(listed.webhooks.map((w: { id: string }) => w.id)).not.toContain(aWebhookId);
    // B's own newest change number, never A's.
    const newest = async (org: TestOrganisation) =>
      asSystem(platform, org.id, async (scope) => (await scope.trx.selectFrom('sync_change_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst())?.seq ?? null);
    expect(await newest(a)).not.toBe(await newest(b));
    expect(listed.latestSeq).toBe(await newest(b) === null ? null : Number(await newest(b)));
  },
  'POST /api/v1/sync/webhooks': async (call) => {
    const response = await call({ method: 'POST', url: '/api/v1/sync/webhooks', payload: { grantee: 'messaging', url: 'https://hooks.b.example.test/custos' } });
    expect(response.statusCode).toBe(201);
    expect((await asSystem(platform, b.id, listWebhooks)).map((w) => w.id)).toContain(response.json().id);
  },
  'DELETE /api/v1/sync/webhooks/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/sync/webhooks/${aWebhookId}` }), 404);
  },
  'POST /api/v1/sync/webhooks/:id/replay': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/sync/webhooks/${aWebhookId}/replay`, payload: { sinceSeq: 0 } }), 404);
  },
  // The client portal: B (a school) against the practice standing beside A.
  'GET /api/v1/portal/clients': async (call) => {
    expect((await call({ url: '/api/v1/portal/clients' })).json().items).toEqual([]);
    expect((await call({ url: '/api/v1/portal/clients?search=Harbour%20Ledger%20Ltd' })).json().total).toBe(0);
  },
  'POST /api/v1/portal/clients': async (call) => {
    expectProblem(await call({ method: 'POST', url: '/api/v1/portal/clients', payload: { kind: 'individual', name: 'B person' } }), 409);
  },
  'GET /api/v1/portal/clients/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/clients/${paClientId}` }), 404);
  },
  'PATCH /api/v1/portal/clients/:id': async (call) => {
    expectProblem(await call({ method: 'PATCH', url: `/api/v1/portal/clients/${paClientId}`, payload: { name: 'Renamed by B' } }), 404);
  },
  'DELETE /api/v1/portal/clients/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/portal/clients/${paClientId}` }), 404);
  },
  'GET /api/v1/portal/clients/:id/users': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/clients/${paClientId}/users` }), 404);
  },
  'POST /api/v1/portal/clients/:id/users': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/clients/${paClientId}/users`, payload: { email: fakePerson().email } }), 404);
  },
  'DELETE /api/v1/portal/clients/:id/users/:userId': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/portal/clients/${paClientId}/users/${paClientUserId}` }), 404);
  },
  'GET /api/v1/portal/clients/:id/folders': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/clients/${paClientId}/folders` }), 404);
  },
  'POST /api/v1/portal/clients/:id/folders': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/clients/${paClientId}/folders`, payload: { name: 'B folder' } }), 404);
  },
  'DELETE /api/v1/portal/folders/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/portal/folders/${paFolderId}` }), 404);
  },
  'GET /api/v1/portal/practice/balance': async (call) => {
    // B is a school: it has no portal; nothing of the practice's balance comes back.
    expectProblem(await call({ url: '/api/v1/portal/practice/balance' }), 409);
  },
  'POST /api/v1/portal/clients/:id/documents': async (call) => {
    const headers = { 'content-type': 'application/pdf' };
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/clients/${paClientId}/documents?filename=planted.pdf`, payload: pdf(), headers }), 404);
  },
  'POST /api/v1/portal/documents/:id/versions': async (call) => {
    const headers = { 'content-type': 'application/pdf' };
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/documents/${paDocumentId}/versions?filename=planted.pdf`, payload: pdf(), headers }), 404);
  },
  'GET /api/v1/portal/clients/:id/documents': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/clients/${paClientId}/documents` }), 404);
  },
  'GET /api/v1/portal/documents/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/documents/${paDocumentId}` }), 404);
  },
  'GET /api/v1/portal/documents/:id/content': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/documents/${paDocumentId}/content` }), 404);
    expectProblem(await call({ url: `/api/v1/portal/documents/${paDocumentId}/content?version=1&disposition=inline` }), 404);
  },
  'PATCH /api/v1/portal/documents/:id': async (call) => {
    expectProblem(await call({ method: 'PATCH', url: `/api/v1/portal/documents/${paDocumentId}`, payload: { folderId: null } }), 404);
  },
  'DELETE /api/v1/portal/documents/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/portal/documents/${paDocumentId}` }), 404);
  },
  'POST /api/v1/portal/flows': async (call) => {
    const payload = { clientId: paClientId, kind: 'approval', title: 'Planted', recipientUserId: paClientUserId, documentIds: [paDocumentId] };
    expectProblem(await call({ method: 'POST', url: '/api/v1/portal/flows', payload }), 404);
  },
  'GET /api/v1/portal/flows': async (call) => {
    expect((await call({ url: '/api/v1/portal/flows' })).json().flows).toEqual([]);
    expect((await call({ url: `/api/v1/portal/flows?clientId=${paClientId}` })).json().flows).toEqual([]);
  },
  'GET /api/v1/portal/flows/dashboard': async (call) => {
    expect(Object.values((await call({ url: '/api/v1/portal/flows/dashboard' })).json()).every((n) => n === 0)).toBe(true);
  },
  'GET /api/v1/portal/flows/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/flows/${paFlowId}` }), 404);
  },
  'POST /api/v1/portal/flows/:id/cancel': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/flows/${paFlowId}/cancel` }), 404);
  },
  'POST /api/v1/portal/flows/:id/response': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/flows/${paFlowId}/response`, payload: { decision: 'approve' } }), 404);
  },
  'POST /api/v1/portal/flows/:id/signature': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/flows/${paFlowId}/signature`, payload: { signature: { kind: 'typed', text: 'B' }, consent: true } }), 404);
  },
  'POST /api/v1/portal/flows/:id/decline': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/flows/${paFlowId}/decline`, payload: { reason: 'B says no' } }), 404);
  },
  'GET /api/v1/portal/flows/:id/documents/:documentId/certificate': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/flows/${paFlowId}/documents/${paDocumentId}/certificate` }), 404);
  },
  'POST /api/v1/portal/invoices': async (call) => {
    const payload = { clientId: paClientId, dueOn: '2026-12-31', lines: [{ description: 'Planted', quantity: '1', unitPricePence: 100, vatRate: 'standard' }] };
    // B is a school: refused before A's client could even be looked for.
    expectProblem(await call({ method: 'POST', url: '/api/v1/portal/invoices', payload }), 409);
  },
  'GET /api/v1/portal/invoices': async (call) => {
    expect((await call({ url: '/api/v1/portal/invoices' })).json()).toMatchObject({ items: [], total: 0 });
    expect((await call({ url: `/api/v1/portal/invoices?clientId=${paClientId}` })).json().items).toEqual([]);
  },
  'GET /api/v1/portal/invoices/export.xlsx': async (call) => {
    const response = await call({ url: '/api/v1/portal/invoices/export.xlsx' });
    expect(response.statusCode).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    const numbers = workbook.worksheets[0]!.getColumn(1).values.filter((v) => typeof v === 'string');
    expect(numbers).not.toContain(paInvoiceNumber);
  },
  'GET /api/v1/portal/invoices/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/invoices/${paInvoiceId}` }), 404);
  },
  'POST /api/v1/portal/invoices/:id/void': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/invoices/${paInvoiceId}/void` }), 404);
  },
  'GET /api/v1/portal/invoices/:id/receipt': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/invoices/${paInvoiceId}/receipt` }), 404);
  },
  'GET /api/v1/portal/invoices/:id/pdf': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/invoices/${paInvoiceId}/pdf` }), 404);
  },
  'POST /api/v1/portal/invoices/:id/checkout': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/invoices/${paInvoiceId}/checkout` }), 404);
  },
  'GET /api/v1/portal/practice/purchases': async (call) => {
    expect((await call({ url: '/api/v1/portal/practice/purchases' })).json()).toEqual({ purchases: [] });
  },
  'POST /api/v1/portal/practice/purchases': async (call) => {
    // B is a school and no payment provider is set up here: refused, nothing of A's involved.
    expectProblem(await call({ method: 'POST', url: '/api/v1/portal/practice/purchases', payload: { kind: 'signing', quantity: 10 } }), 409);
  },
  'GET /api/v1/portal/request-templates': async (call) => {
    expectProblem(await call({ url: '/api/v1/portal/request-templates' }), 409);
  },
  'POST /api/v1/portal/request-templates': async (call) => {
    const payload = { name: 'B template', sections: [{ title: 'S', questions: [{ id: 'q1', text: 'Q?', kind: 'text' }] }] };
    expectProblem(await call({ method: 'POST', url: '/api/v1/portal/request-templates', payload }), 409);
  },
  'GET /api/v1/portal/request-templates/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/request-templates/${paTemplateId}` }), 404);
  },
  'PUT /api/v1/portal/request-templates/:id': async (call) => {
    const payload = { name: 'Renamed by B', sections: [{ title: 'S', questions: [{ id: 'q1', text: 'Q?', kind: 'text' }] }] };
    expectProblem(await call({ method: 'PUT', url: `/api/v1/portal/request-templates/${paTemplateId}`, payload }), 404);
  },
  'DELETE /api/v1/portal/request-templates/:id': async (call) => {
    expectProblem(await call({ method: 'DELETE', url: `/api/v1/portal/request-templates/${paTemplateId}` }), 404);
  },
  'POST /api/v1/portal/requests': async (call) => {
    const payload = { clientId: paClientId, recipientUserId: paClientUserId, templateId: paTemplateId };
    expectProblem(await call({ method: 'POST', url: '/api/v1/portal/requests', payload }), 404);
  },
  'GET /api/v1/portal/requests': async (call) => {
    expect((await call({ url: '/api/v1/portal/requests' })).json()).toEqual({ requests: [] });
  },
  'GET /api/v1/portal/requests/:id': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/requests/${paRequestId}` }), 404);
  },
  'PUT /api/v1/portal/requests/:id/answers': async (call) => {
    expectProblem(await call({ method: 'PUT', url: `/api/v1/portal/requests/${paRequestId}/answers`, payload: { answers: {} } }), 404);
  },
  'POST /api/v1/portal/requests/:id/submit': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/requests/${paRequestId}/submit` }), 404);
  },
  'POST /api/v1/portal/requests/:id/decline': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/requests/${paRequestId}/decline`, payload: { reason: 'x' } }), 404);
  },
  'POST /api/v1/portal/requests/:id/summary-decision': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/requests/${paRequestId}/summary-decision`, payload: { decision: 'approve', summaryRevision: 1 } }), 404);
  },
  'POST /api/v1/portal/requests/:id/complete': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/requests/${paRequestId}/complete` }), 404);
  },
  'POST /api/v1/portal/requests/:id/cancel': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/requests/${paRequestId}/cancel` }), 404);
  },
  'POST /api/v1/portal/requests/:id/send-back': async (call) => {
    expectProblem(await call({ method: 'POST', url: `/api/v1/portal/requests/${paRequestId}/send-back`, payload: { comment: 'x' } }), 404);
  },
  'GET /api/v1/portal/clients/:id/mtd-summaries/:period': async (call) => {
    expectProblem(await call({ url: `/api/v1/portal/clients/${paClientId}/mtd-summaries/2026-27-Q1` }), 404);
  },
  'PUT /api/v1/portal/clients/:id/mtd-summaries/:period': async (call) => {
    const payload = { income: [{ category: 'turnover', amountPence: 100 }], expenses: [] };
    expectProblem(await call({ method: 'PUT', url: `/api/v1/portal/clients/${paClientId}/mtd-summaries/2026-27-Q1`, payload }), 404);
  },
};

async function snapshotOfA() {
  const users = await asSystem(platform, a.id, listUsers);
  const tokens = await asSystem(platform, a.id, listApiTokens);
  return {
    counts: await tenantCounts(platform, a.id),
    users: users.map((u) => ({ id: u.id, email: u.email, role: u.role, status: u.status })),
    tokens: tokens.map((t) => ({ id: t.id, revokedAt: t.revokedAt, scopes: t.scopes })),
    settings: await asSystem(platform, a.id, getOrganisationSettings),
    liveSessions: await asSystem(platform, a.id, async (scope) => (await scope.trx.selectFrom('sessions').select('id').where('revoked_at', 'is', null).execute()).length),
    sharing: await asSystem(platform, a.id, sharingOverview),
    syncRecords: await asSystem(platform, a.id, async (scope) => ({
      staff: await scope.trx.selectFrom('staff').select(['id', 'content_hash', 'status']).orderBy('id').execute(),
      runs: (await scope.trx.selectFrom('sync_runs').select('id').execute()).length,
      connections: await scope.trx.selectFrom('sync_connections').select(['id', 'name', 'schedule', 'disabled_at', 'settings_enc']).orderBy('id').execute(),
    })),
    portal: await asSystem(platform, pa.id, async (scope) => ({
      clients: await scope.trx.selectFrom('portal_clients').select(['id', 'name_enc', 'updated_at']).orderBy('id').execute(),
      members: await scope.trx.selectFrom('portal_client_members').select(['client_id', 'user_id']).execute(),
      folders: await scope.trx.selectFrom('portal_folders').select(['id', 'name_enc']).orderBy('id').execute(),
      documents: await scope.trx.selectFrom('portal_documents').select(['id', 'folder_id', 'latest_version']).orderBy('id').execute(),
      versions: (await scope.trx.selectFrom('portal_document_versions').select('id').execute()).length,
      flows: await scope.trx.selectFrom('portal_flows').select(['id', 'status', 'response_enc', 'completed_at']).orderBy('id').execute(),
      flowEvents: (await scope.trx.selectFrom('portal_flow_events').select('id').execute()).length,
      invoices: await scope.trx.selectFrom('portal_invoices').select(['id', 'status', 'paid_at', 'checkout_session_id']).orderBy('id').execute(),
      templates: await scope.trx.selectFrom('portal_request_templates').select(['id', 'name']).orderBy('id').execute(),
      requests: await scope.trx.selectFrom('portal_requests').select(['id', 'status', 'answers_enc']).orderBy('id').execute(),
    })),
  };
}

beforeAll(async () => {
  // Hundreds of probe calls from one address: well over the production per-minute limit.
  platform = await startTestPlatform({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  app = await buildServer(platform, { webDistDir: '/nonexistent' });
  // Give A activity made through the API, so its audit trail holds API-made entries too.
  aMemberEmail = fakePerson().email;
  const invited = await app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers: bearer(a.token), payload: { email: aMemberEmail } });
  aMemberId = invited.json().userId;
  aTokenId = (await asSystem(platform, a.id, listApiTokens))[0]!.id;
  // A has live sessions too: B must not be able to end or see them.
  const aSession = await testSession(platform, a.id, a.adminUserId, { mfaVerified: true });
  // A holds school data and shares some of it.
  aSync = await importSharingSchool(platform, a.id);
  aGrantId = (await asSystem(platform, a.id, (scope) => grant({ queue: platform.queue }, scope, { granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.basic'] }))).id;
  await asSystem(platform, a.id, (scope) => excludeMember({ queue: platform.queue }, scope, aGrantId, { memberKind: 'pupil', memberId: aSync.pupils.P1 }));
  aSecrets = [a.id, a.name, a.adminUserId, a.adminEmail, a.token, aTokenId, aMemberId, aMemberEmail, aSession.token, aSession.sessionId];
  aConnectionId = (await asSystem(platform, a.id, (scope) =>
    createConnection(scope, { kind: 'wonde', name: 'A MIS', settings: { baseUrl: 'https://api.wonde.test', token: aConnectionSecret, schoolId: 'A1' }, schedule: 'nightly' }),
  )).id;
  aSecrets.push(aConnectionId, aConnectionSecret);
  const aCreated = await asSystem(platform, a.id, (scope) => createApiClient(scope, { name: 'A app' }));
  aApiClient = { id: aCreated.client.id, clientId: aCreated.client.clientId, clientSecret: aCreated.clientSecret };
  await asSystem(platform, a.id, (scope) => grant({ queue: platform.queue }, scope, { granteeKind: 'api_client', grantee: aApiClient.clientId, scopes: ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'contacts', 'staff', 'groups'] }));
  aSecrets.push(aApiClient.id, aApiClient.clientId, aApiClient.clientSecret);
  const aWebhook = await asSystem(platform, a.id, (scope) => registerWebhook(scope, { grantee: 'messaging', url: 'https://hooks.a.example.test/custos' }));
  aWebhookId = aWebhook.id;
  aSecrets.push(aWebhookId, aWebhook.secret, 'hooks.a.example.test');
  pa = await createTestOrganisation(platform, { kind: 'practice' });
  paClientId = (await asSystem(platform, pa.id, (scope) => createClient(scope, { kind: 'company', name: 'Harbour Ledger Ltd', reference: 'HARB01' }))).id;
  paClientUserId = (await asSystem(platform, pa.id, (scope) => addClientUser(platform.queue, scope, paClientId, { email: fakePerson().email }, 'http://x'))).userId;
  paFolderId = (await asSystem(platform, pa.id, (scope) => createFolder(scope, paClientId, { name: 'Year end 2026' }))).id;
  const uploaded = await app.inject({ method: 'POST', url: `/api/v1/portal/clients/${paClientId}/documents?filename=accounts.pdf`, headers: { ...bearer(pa.token), 'content-type': 'application/pdf' }, payload: pdf() });
  paDocumentId = uploaded.json().document.id;
  const paInvoice = await asSystem(platform, pa.id, (scope) =>
    createInvoice(platform.queue, scope, { clientId: paClientId, dueOn: '2026-12-31', lines: [{ description: 'Year-end accounts', quantity: '1', unitPricePence: 90_000, vatRate: 'standard' }] }, 'http://custos.test'),
  );
  paInvoiceId = paInvoice.id;
  paInvoiceNumber = paInvoice.number;
  paTemplateId = (await asSystem(platform, pa.id, (scope) => createTemplate(scope, { name: 'Harbour checklist', sections: [{ title: 'Income', questions: [{ id: 'q1', text: 'Any new income?', kind: 'yes-no' }] }] }))).id;
  paRequestId = (await asSystem(platform, pa.id, (scope) => sendRequest(platform.queue, scope, { clientId: paClientId, recipientUserId: paClientUserId, templateId: paTemplateId }, 'http://x'))).id;
  paFlowId = (await asSystem(platform, pa.id, (scope) => sendFlow(platform.queue, scope, { clientId: paClientId, kind: 'approval', title: 'Year-end accounts', recipientUserId: paClientUserId, documentIds: [paDocumentId] }, 'http://x'))).id;
  aSecrets.push(pa.id, pa.name, pa.token, paClientId, paClientUserId, paFolderId, paDocumentId, paFlowId, paInvoiceId, paInvoiceNumber, paTemplateId, paRequestId, 'Harbour checklist', 'Year-end accounts', 'Harbour Ledger Ltd', 'HARB01', 'Year end 2026', 'accounts.pdf');
  aSecrets.push(aSync.runId, aGrantId, ...Object.values(aSync.pupils), ...Object.values(aSync.contacts), ...Object.values(aSync.staff), ...Object.values(aSync.groups), 'Annabel', 'A123456789012');
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

  it('has every route either public by decision or authenticated with a declared posture', () => {
    for (const route of registeredRoutes(app)) {
      const key = keyOf(route);
      if (ONEROSTER_CLIENT_ROUTES.includes(key)) {
        expect(route.authenticated, `${key} takes OneRoster client tokens only`).toBe(false);
      } else if (isPublicKey(key)) {
        expect(route.authenticated, `${key} is public but authenticates`).toBe(false);
        expect(route.url.startsWith('/api/v1') ? route.url.startsWith('/api/v1/auth/') : true, `${key} is public under /api/v1`).toBe(true);
      } else {
        expect(route.authenticated, `${key} must authenticate or be added to PUBLIC_ROUTES with a reason`).toBe(true);
        expect(route.permission ?? route.session, `${key} must declare the permission or session it needs`).toBeDefined();
      }
    }
  });

  it('has a cross-tenant probe for every guarded route, and no stale probes', () => {
    const guarded = guardedRoutes().map(keyOf);
    expect(guarded.filter((key) => !(key in PROBES)), 'routes without a cross-tenant probe').toEqual([]);
    expect(Object.keys(PROBES).filter((key) => !guarded.includes(key)), 'probes for routes that no longer exist').toEqual([]);
  });
});

describe('authorisation matrix', () => {
  const declared = (r: RegisteredRoute): Access => (r.session ? { session: r.session } : { permission: r.permission!, scope: r.scope as 'read' | 'admin' });
  const entries = () => Object.entries(REQUIRED_ACCESS).map(([key, access]) => {
    const [method, path] = key.split(' ') as ['GET', string];
    // A body that would fail validation: the access check must answer first.
    return { key, access, method, url: path.replace(':period', '2026-27-Q1').replace(/:\w+/g, () => crypto.randomUUID()), payload: method === 'GET' ? undefined : { unexpected: true } };
  });

  it('covers exactly the guarded routes, each declaring what the matrix gives it', () => {
    expect(Object.fromEntries(guardedRoutes().map((r) => [keyOf(r), declared(r)]))).toEqual(REQUIRED_ACCESS);
  });

  it('refuses every guarded route without a credential, and with a bad token or cookie, before reading the body', async () => {
    const before = await tenantCounts(platform, b.id);
    // From addresses of their own (a few calls each): this many wrong credentials from one would trip its guessing throttle.
    let n = 0;
    for (const { key, method, url, payload } of entries()) {
      const remoteAddress = `198.51.${Math.floor(n / 200)}.${n++ % 200}`;
      expectProblem(await app.inject({ method, url, payload, remoteAddress }), 401);
      expectProblem(await app.inject({ method, url, payload, remoteAddress, headers: bearer(`cst_${'x'.repeat(40)}`) }), 401);
      const forged = await app.inject({ method, url, payload, remoteAddress, headers: { cookie: `custos_session=css_${'y'.repeat(40)}` } });
      expect(forged.statusCode, key).toBe(401);
    }
    expect(await tenantCounts(platform, b.id)).toEqual(before);
  });

  it('gives a read token the read routes only, and no token the people-only routes', async () => {
    const readToken = (await issueToken(platform, b.id, ['read'], 'matrix read')).token;
    const before = await tenantCounts(platform, b.id);
    for (const { key, access, method, url, payload } of entries()) {
      const response = await app.inject({ method, url, payload, headers: bearer(readToken) });
      if ('session' in access || access.scope === 'admin') expectProblem(response, 403);
      // Admitted: the route's own answer (a school has no client portal: 409).
      else expect([200, 404, 409], `${key} with a read token`).toContain(response.statusCode);
    }
    expect(await tenantCounts(platform, b.id)).toEqual(before);
  });

  it("holds a member's session to the member role's permissions", async () => {
    const member = await app.inject({ method: 'POST', url: '/api/v1/users/invitations', headers: bearer(b.token), payload: { email: fakePerson().email, role: 'member' } });
    const session = await testSession(platform, b.id, member.json().userId, { mfaVerified: true });
    const memberPermissions = permissionsOf('school', 'member');
    const before = await tenantCounts(platform, b.id);
    for (const { key, access, method, url, payload } of entries()) {
      if ('session' in access) continue;
      const response = await app.inject({ method, url, payload, headers: method === 'GET' ? session.read : session.write });
      if (memberPermissions.includes(access.permission as never)) expect([200, 404], `${key} as a member`).toContain(response.statusCode);
      else expect(expectProblem(response, 403).type, key).toMatch(/forbidden$/);
    }
    expect(await tenantCounts(platform, b.id)).toEqual(before);
  });

  it('refuses a session that has not passed MFA where the organisation requires it, except on the MFA steps', async () => {
    for (const { key, access, method, url, payload } of entries()) {
      const session = await testSession(platform, b.id, b.adminUserId, { mfaVerified: false });
      const response = await app.inject({ method, url, payload, headers: method === 'GET' ? session.read : session.write });
      if ('session' in access && access.session.beforeMfa) {
        expect([200, 204, 400, 409], `${key} before MFA`).toContain(response.statusCode);
      } else {
        expect(expectProblem(response, 403).type, key).toMatch(/mfa-required$/);
      }
    }
  });

  it('admits a session without MFA where the organisation does not require it and the user never enrolled', async () => {
    const practice = await createTestOrganisation(platform, { kind: 'practice' });
    const session = await testSession(platform, practice.id, practice.adminUserId, { mfaVerified: false });
    expect((await app.inject({ url: '/api/v1/users', headers: session.read })).statusCode).toBe(200);
    // Once the practice switches MFA on, the same session is stopped until it passes MFA.
    const on = await app.inject({ method: 'PUT', url: '/api/v1/organisation/settings', headers: session.write, payload: { requireMfa: true } });
    expect(on.json()).toMatchObject({ requireMfa: true });
    expect(expectProblem(await app.inject({ url: '/api/v1/users', headers: session.read }), 403).type).toMatch(/mfa-required$/);
  });

  it('refuses a state-changing cookie request without the right CSRF token, changing nothing', async () => {
    const session = await testSession(platform, b.id, b.adminUserId, { mfaVerified: true });
    const before = await tenantCounts(platform, b.id);
    for (const { key, method, url } of entries().filter((e) => e.method !== 'GET')) {
      for (const csrf of [undefined, 'wrong', session.token]) {
        const headers = csrf === undefined ? session.read : { ...session.read, 'x-csrf-token': csrf };
        expect(expectProblem(await app.inject({ method, url, payload: { email: fakePerson().email }, headers }), 403).type, key).toMatch(/csrf$/);
      }
    }
    expect(await tenantCounts(platform, b.id)).toEqual(before);
  });
});

describe("tenant B's admin (token and signed-in session) against tenant A", () => {
  it("never shows B any of A's data and never changes A, on every guarded route", async () => {
    const before = await snapshotOfA();
    const guarded = guardedRoutes();
    expect(guarded.length).toBe(Object.keys(PROBES).length);
    const callers = guarded.flatMap((route) => {
      const sessionOnly = 'session' in REQUIRED_ACCESS[keyOf(route)]!;
      return [...(sessionOnly ? [] : [{ route, as: 'token' as const }]), { route, as: 'session' as const }];
    });
    for (const { route, as } of callers) {
      const key = keyOf(route);
      // A fresh session each time: some probes sign out.
      const session = as === 'session' ? await testSession(platform, b.id, b.adminUserId, { mfaVerified: true }) : undefined;
      const calls: { sent: string; response: LightMyRequestResponse }[] = [];
      await PROBES[key]!(async ({ method = 'GET', url, payload, headers }) => {
        const credential = session ? (method === 'GET' ? session.read : session.write) : bearer(b.token);
        // Tenant hints in headers must change nothing: the credential alone decides the tenant.
        const response = await app.inject({ method: method as 'GET', url, payload: payload as object, headers: { ...credential, 'x-tenant-id': a.id, ...headers } });
        calls.push({ sent: url + JSON.stringify(payload ?? null), response });
        return response;
      });
      expect(calls.length, `${key} probe made a call`).toBeGreaterThan(0);
      for (const { sent, response } of calls) {
        expect([200, 201, 204, 400, 403, 404, 409], `${key} as ${as}: status`).toContain(response.statusCode);
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

describe('OneRoster client routes (their own OAuth bearer tokens)', () => {
  const ROSTERING = '/ims/oneroster/rostering/v1p2';
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const urlOf = (key: string) => key.slice('GET '.length).replace(':id', aSync.pupils.P2);
  const tokenFor = async (clientId: string, clientSecret: string): Promise<string> => {
    const payload = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString();
    const response = await app.inject({ method: 'POST', url: '/ims/oneroster/v1p2/token', headers: FORM, payload });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().access_token;
  };

  it('lists exactly the registered /ims/ routes besides the token endpoint', () => {
    const ims = registeredRoutes(app).map(keyOf).filter((key) => key.includes(' /ims/') && !isPublicKey(key));
    expect(ims.sort()).toEqual([...ONEROSTER_CLIENT_ROUTES].sort());
  });

  it('refuses no token, a wrong token, a Custos API token and a session, on every route', async () => {
    const session = await testSession(platform, a.id, a.adminUserId, { mfaVerified: true });
    const aToken = await tokenFor(aApiClient.clientId, aApiClient.clientSecret);
    for (const key of ONEROSTER_CLIENT_ROUTES) {
      const url = urlOf(key);
      for (const headers of [{}, bearer(`ort_${'x'.repeat(43)}`), bearer(a.token), bearer(aApiClient.clientSecret), session.read]) {
        const response = await app.inject({ url, headers });
        expectProblem(response, 401);
        // The problem's `instance` is the path sent; nothing else of A's may come back.
        for (const secret of aSecrets.filter((s) => !url.includes(s))) expect(response.body, `${key} leaked ${secret}`).not.toContain(secret);
      }
      // A's own client, with A's grant, does get through.
      expect((await app.inject({ url, headers: bearer(aToken) })).statusCode, key).toBe(200);
    }
  });

  it("shows B's client none of A's data, whatever B grants it", async () => {
    const before = await snapshotOfA();
    const created = await asSystem(platform, b.id, (scope) => createApiClient(scope, { name: 'B app' }));
    // A probe above paused B's sharing: B resumes it, so B's client is served (B's data, which is none of A's).
    await asSystem(platform, b.id, (scope) => scope.trx.updateTable('sync_state').set({ sharing_paused: false }).where('tenant_id', '=', b.id).execute());
    await asSystem(platform, b.id, (scope) =>
      grant({ queue: platform.queue }, scope, { granteeKind: 'api_client', grantee: created.client.clientId, scopes: ['pupils.basic', 'pupils.contact', 'pupils.sensitive', 'contacts', 'staff', 'groups'] }),
    );
    // B also names A's client in a grant of its own: that gives A's client nothing of B and B nothing of A.
    await asSystem(platform, b.id, (scope) => grant({ queue: platform.queue }, scope, { granteeKind: 'api_client', grantee: aApiClient.clientId, scopes: ['pupils.basic'] }));
    const bToken = await tokenFor(created.client.clientId, created.clientSecret);
    const bIds = await asSystem(platform, b.id, async (scope) => [
      b.id,
      ...(await scope.trx.selectFrom('staff').select('id').execute()).map((r) => r.id),
      ...(await scope.trx.selectFrom('pupils').select('id').execute()).map((r) => r.id),
      ...(await scope.trx.selectFrom('contacts').select('id').execute()).map((r) => r.id),
      ...(await scope.trx.selectFrom('school_groups').select('id').execute()).map((r) => r.id),
    ]);
    for (const key of ONEROSTER_CLIENT_ROUTES) {
      const ids = key.endsWith(':id') ? [...Object.values(aSync.pupils), ...Object.values(aSync.staff), ...Object.values(aSync.contacts)] : [''];
      for (const id of ids) {
        const response = await app.inject({ url: key.slice('GET '.length).replace(':id', id), headers: { ...bearer(bToken), 'x-tenant-id': a.id } });
        expect([200, 404], key).toContain(response.statusCode);
        for (const secret of aSecrets.filter((s) => s !== id)) expect(response.body, `${key} leaked ${secret}`).not.toContain(secret);
        // B's own records (a probe above imported some staff into B) may come back; none of A's ids can.
        if (response.statusCode === 200 && !key.endsWith(':id')) {
          for (const record of Object.values(response.json()).flat() as { sourcedId: string; user?: { sourcedId: string } }[]) expect(bIds).toContain(record.user?.sourcedId ?? record.sourcedId);
        }
      }
    }
    expect((await app.inject({ url: `${ROSTERING}/orgs`, headers: bearer(bToken) })).json().orgs.map((o: { sourcedId: string }) => o.sourcedId)).toEqual([b.id]);
    expect(await snapshotOfA()).toEqual(before);
  });
});
