import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listAudit } from '../audit/audit-reader.ts';
import { ConflictError } from '../errors.ts';
import { createSession, resolveSessionTenant } from '../identity/sessions.ts';
import { inviteUser } from '../identity/users.ts';
import { disableUser } from './user-roles.ts';

let platform: TestPlatform;
let org: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  org = await createTestOrganisation(platform, { kind: 'practice' });
});
afterAll(async () => platform?.close());

describe('disabling a user', () => {
  it('ends every session of theirs in the same transaction, and nobody else\'s', async () => {
    const { userId } = await asSystem(platform, org.id, (scope) => inviteUser(scope, { email: fakePerson().email }, 'http://x'));
    const theirs = await Promise.all([1, 2].map(() => asSystem(platform, org.id, (scope) => createSession(scope, userId, { mfaVerified: true }))));
    const admins = await asSystem(platform, org.id, (scope) => createSession(scope, org.adminUserId, { mfaVerified: true }));
    for (const s of theirs) expect(await resolveSessionTenant(platform.db.app, s.token)).toBeDefined();

    await asSystem(platform, org.id, (scope) => disableUser(scope, userId));

    for (const s of theirs) expect(await resolveSessionTenant(platform.db.app, s.token)).toBeUndefined();
    const rows = await platform.db.owner.selectFrom('sessions').select(['revoked_reason']).where('user_id', '=', userId).execute();
    expect(rows).toEqual([{ revoked_reason: 'user disabled' }, { revoked_reason: 'user disabled' }]);
    expect(await resolveSessionTenant(platform.db.app, admins.token)).toMatchObject({ tenantId: org.id });
    const [disabled, revoked] = await asSystem(platform, org.id, async (scope) => [
      (await listAudit(scope, { action: 'user.disabled' }))[0],
      (await listAudit(scope, { action: 'session.revoked_all' }))[0],
    ]);
    expect(revoked).toMatchObject({ targetId: userId, changes: { reason: { after: 'user disabled' }, sessions: { after: 2 } } });
    expect(revoked!.requestId).toBe(disabled!.requestId);
  });

  it('ends no session when the user cannot be disabled (the last admin)', async () => {
    const session = await asSystem(platform, org.id, (scope) => createSession(scope, org.adminUserId, { mfaVerified: true }));
    await expect(asSystem(platform, org.id, (scope) => disableUser(scope, org.adminUserId))).rejects.toBeInstanceOf(ConflictError);
    expect(await resolveSessionTenant(platform.db.app, session.token)).toMatchObject({ tenantId: org.id });
  });
});
