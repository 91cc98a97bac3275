import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listAudit } from '../audit/audit-reader.ts';
import {
  checkCsrf,
  createSession,
  loadSession,
  lockOwnSession,
  resolveSessionTenant,
  revokeSession,
  revokeSessions,
  SESSION_ABSOLUTE_MS,
  SESSION_IDLE_MS,
  upgradeSessionAfterMfa,
} from './sessions.ts';

let platform: TestPlatform;
let a: TestOrganisation;
let b: TestOrganisation;

const inA = <T>(work: Parameters<typeof asSystem<T>>[2]) => asSystem(platform, a.id, work);

beforeAll(async () => {
  platform = await startTestPlatform();
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
});
afterAll(async () => platform?.close());

describe('server-side sessions', () => {
  it('stores only hashes, and resolves a live token to its own tenant', async () => {
    const session = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: false }));
    expect(await resolveSessionTenant(platform.db.app, session.token)).toEqual({ tenantId: a.id, sessionId: session.sessionId });
    const raw = await platform.db.owner.selectFrom('sessions').selectAll().where('id', '=', session.sessionId).executeTakeFirstOrThrow();
    expect(JSON.stringify(raw)).not.toContain(session.token);
    expect(JSON.stringify(raw)).not.toContain(session.csrfToken);
    expect(await resolveSessionTenant(platform.db.app, session.token + 'x')).toBeUndefined();
    expect(await resolveSessionTenant(platform.db.app, 'not-a-session')).toBeUndefined();
  });

  it("is invisible to another tenant's transaction", async () => {
    const session = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: true }));
    expect(await asSystem(platform, b.id, (scope) => loadSession(scope, session.sessionId))).toBeUndefined();
    expect(await asSystem(platform, b.id, (scope) => revokeSession(scope, session.sessionId, 'signed out'))).toBe(false);
    expect(await inA((scope) => loadSession(scope, session.sessionId))).toMatchObject({ userId: a.adminUserId, mfaVerified: true });
  });

  it('ends after the idle timeout, slides while used, and never outlives the absolute timeout', async () => {
    const start = new Date('2026-01-05T09:00:00Z');
    const session = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: true, now: start }));
    const at = (ms: number) => inA((scope) => loadSession(scope, session.sessionId, new Date(start.getTime() + ms)));
    // Used every 20 minutes, it stays alive past the first idle deadline …
    for (let t = 20 * 60_000; t < SESSION_ABSOLUTE_MS; t += 20 * 60_000) expect(await at(t), `at ${t / 60_000} min`).toBeDefined();
    // … but not past the absolute deadline.
    expect(await at(SESSION_ABSOLUTE_MS + 1)).toBeUndefined();

    const idle = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: true, now: start }));
    expect(await inA((scope) => loadSession(scope, idle.sessionId, new Date(start.getTime() + SESSION_IDLE_MS + 1)))).toBeUndefined();
  });

  it('checks the CSRF token in constant time against its hash', async () => {
    const session = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: true }));
    expect(await inA((scope) => checkCsrf(scope, session.sessionId, session.csrfToken))).toBe(true);
    expect(await inA((scope) => checkCsrf(scope, session.sessionId, session.csrfToken.slice(1)))).toBe(false);
    expect(await inA((scope) => checkCsrf(scope, session.sessionId, undefined))).toBe(false);
  });

  it('replaces the session with a new id and token after MFA; the old token stops working', async () => {
    const before = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: false }));
    const after = await inA((scope) => upgradeSessionAfterMfa(scope, before.sessionId));
    expect(after.sessionId).not.toBe(before.sessionId);
    expect(after.token).not.toBe(before.token);
    expect(await resolveSessionTenant(platform.db.app, before.token)).toBeUndefined();
    expect(await inA((scope) => loadSession(scope, after.sessionId))).toMatchObject({ mfaVerified: true });
  });

  it('finds a caller\'s own live session only: not another user\'s, not once ended', async () => {
    const session = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: true }));
    expect(await inA((scope) => lockOwnSession(scope, { sessionId: session.sessionId, userId: a.adminUserId }))).toEqual({ mfaVerified: true });
    expect(await inA((scope) => lockOwnSession(scope, { sessionId: session.sessionId, userId: b.adminUserId }))).toBeUndefined();
    expect(await asSystem(platform, b.id, (scope) => lockOwnSession(scope, { sessionId: session.sessionId, userId: a.adminUserId }))).toBeUndefined();
    await inA((scope) => revokeSession(scope, session.sessionId, 'signed out'));
    expect(await inA((scope) => lockOwnSession(scope, { sessionId: session.sessionId, userId: a.adminUserId }))).toBeUndefined();
  });

  it("revokes one user's sessions, or the whole organisation's, with an audit entry", async () => {
    const mine = await inA((scope) => createSession(scope, a.adminUserId, { mfaVerified: true }));
    const count = await inA((scope) => revokeSessions(scope, 'password changed', a.adminUserId));
    expect(count).toBeGreaterThan(0);
    expect(await resolveSessionTenant(platform.db.app, mine.token)).toBeUndefined();
    const other = await asSystem(platform, b.id, (scope) => createSession(scope, b.adminUserId, { mfaVerified: true }));
    await inA((scope) => revokeSessions(scope, 'organisation cancelled'));
    // B's session is untouched by A's organisation-wide revocation.
    expect(await resolveSessionTenant(platform.db.app, other.token)).toEqual({ tenantId: b.id, sessionId: other.sessionId });
    const entries = await inA((scope) => listAudit(scope, { action: 'session.revoked_all' }));
    expect(entries[entries.length - 1]!.changes).toMatchObject({ reason: { after: 'password changed' } });
  });
});
