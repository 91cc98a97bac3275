import { expect } from 'vitest';
import type { LightMyRequestResponse as InjectResponse } from 'fastify';
import { asSystem } from '../../test/factories.ts';
import { createApiToken } from '../platform/identity/api-tokens.ts';
import { createSession } from '../platform/identity/sessions.ts';
import { sessionCookieNames } from './session-cookies.ts';
import type { Platform } from '../platform/platform.ts';

/** Test helpers for the HTTP layer (not a test file itself). */

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** Asserts an RFC 9457 problem with the given status and returns its body. */
export function expectProblem(response: InjectResponse, status: number): Record<string, unknown> & { errors?: { field: string; reason: string }[] } {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json();
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^https:\/\//), title: expect.any(String), detail: expect.any(String) });
  expect(body.instance).toBe((response.raw.req.url ?? '').split('?')[0]);
  return body;
}

/** What a tenant holds, counted from inside its own transaction, to prove a request changed nothing. */
export async function tenantCounts(platform: Platform, tenantId: string) {
  return asSystem(platform, tenantId, async (scope) => {
    const count = async (table: 'users' | 'audit_events' | 'invitations' | 'api_tokens') =>
      Number((await scope.trx.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const revoked = await scope.trx.selectFrom('api_tokens').select('id').where('revoked_at', 'is not', null).execute();
    return {
      users: await count('users'),
      invitations: await count('invitations'),
      apiTokens: await count('api_tokens'),
      revokedTokens: revoked.length,
      auditEntries: await count('audit_events'),
    };
  });
}

/** A further API token for an organisation, with the given scopes; returns its secret and id. */
export async function issueToken(platform: Platform, tenantId: string, scopes: ('read' | 'admin')[], name = 'extra token') {
  const { token, info } = await asSystem(platform, tenantId, (scope) => createApiToken(scope, { name, scopes }, 'test'));
  return { token, id: info.id };
}

export interface TestSession {
  /** Headers for a GET (cookie only). */
  read: { cookie: string };
  /** Headers for a state-changing request (cookie and CSRF token). */
  write: { cookie: string; 'x-csrf-token': string };
  sessionId: string;
  token: string;
}

/**
 * A live web session for a user, made directly (no password, no argon2): the user is made active
 * first, as someone who accepted their invitation would be. `mfaVerified` says whether the session
 * has passed a second factor.
 */
export async function testSession(platform: Platform, tenantId: string, userId: string, options: { mfaVerified: boolean }): Promise<TestSession> {
  const session = await asSystem(platform, tenantId, async (scope) => {
    await scope.trx.updateTable('users').set({ status: 'active' }).where('id', '=', userId).where('status', '=', 'invited').execute();
    return createSession({ ...scope, actor: { type: 'user', id: userId } }, userId, { mfaVerified: options.mfaVerified });
  });
  const cookie = `${sessionCookieNames(platform.config).session}=${session.token}`;
  return { read: { cookie }, write: { cookie, 'x-csrf-token': session.csrfToken }, sessionId: session.sessionId, token: session.token };
}

/** The session cookie a response set, if any. */
export function sessionCookieFrom(platform: Platform, response: InjectResponse): string | undefined {
  const name = sessionCookieNames(platform.config).session;
  return response.cookies.find((c) => c.name === name && c.value)?.value;
}
