import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listAudit } from '../audit/audit-reader.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { resolveApiToken } from '../identity/api-tokens.ts';
import { createSession, resolveSessionTenant } from '../identity/sessions.ts';
import { inviteUser } from '../identity/users.ts';
import { systemMeta } from '../tenancy/tenant-scope.ts';
import { cancelOrganisation, getOrganisationSettings, updateOrganisationSettings } from './settings.ts';

let platform: TestPlatform;
let practice: TestOrganisation;
let school: TestOrganisation;
let operator: TestOrganisation;

beforeAll(async () => {
  platform = await startTestPlatform();
  practice = await createTestOrganisation(platform, { kind: 'practice' });
  school = await createTestOrganisation(platform, { kind: 'school' });
  operator = await createTestOrganisation(platform, { kind: 'operator' });
});
afterAll(async () => platform?.close());

const settingsOf = (org: TestOrganisation) => asSystem(platform, org.id, (scope) => getOrganisationSettings(scope));
const update = (org: TestOrganisation, input: unknown) => asSystem(platform, org.id, (scope) => updateOrganisationSettings(scope, input));
const audit = (org: TestOrganisation, action: string) => asSystem(platform, org.id, (scope) => listAudit(scope, { action }));

describe('organisation settings', () => {
  it('starts with MFA required for children\'s data and the composition rules everywhere', async () => {
    expect(await settingsOf(practice)).toEqual({ requireMfa: false, passwordMode: 'composition' });
    expect(await settingsOf(school)).toEqual({ requireMfa: true, passwordMode: 'composition' });
    expect(await settingsOf(operator)).toEqual({ requireMfa: true, passwordMode: 'composition' });
  });

  it('changes only the settings given, audits each change with before and after, and leaves other organisations alone', async () => {
    expect(await update(practice, { requireMfa: true })).toEqual({ requireMfa: true, passwordMode: 'composition' });
    expect(await update(practice, { passwordMode: 'nist' })).toEqual({ requireMfa: true, passwordMode: 'nist' });
    expect(await settingsOf(practice)).toEqual({ requireMfa: true, passwordMode: 'nist' });
    expect(await settingsOf(school)).toEqual({ requireMfa: true, passwordMode: 'composition' });

    const entries = await audit(practice, 'organisation.settings_changed');
    expect(entries.map((e) => e.changes)).toEqual([
      { passwordMode: { before: 'composition', after: 'nist' } },
      { requireMfa: { before: false, after: true } },
    ]);
    expect(entries[0]).toMatchObject({ targetType: 'organisation', targetId: practice.id, actorType: 'system' });

    // Both at once, back again: one entry naming both.
    expect(await update(practice, { requireMfa: false, passwordMode: 'composition' })).toEqual({ requireMfa: false, passwordMode: 'composition' });
    const [latest] = await audit(practice, 'organisation.settings_changed');
    expect(latest!.changes).toEqual({ requireMfa: { before: true, after: false }, passwordMode: { before: 'nist', after: 'composition' } });
  });

  it('writes nothing, not even an audit entry, when nothing changes', async () => {
    const before = (await audit(school, 'organisation.settings_changed')).length;
    expect(await update(school, { requireMfa: true, passwordMode: 'composition' })).toEqual({ requireMfa: true, passwordMode: 'composition' });
    expect(await update(school, {})).toEqual({ requireMfa: true, passwordMode: 'composition' });
    expect(await audit(school, 'organisation.settings_changed')).toHaveLength(before);
  });

  it('refuses to switch MFA off for the operator, changing nothing, but lets it choose its password rules', async () => {
    const attempt = update(operator, { requireMfa: false, passwordMode: 'nist' });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({ errors: [{ field: 'requireMfa', reason: 'cannot be switched off for operator staff' }] });
    expect(await settingsOf(operator)).toEqual({ requireMfa: true, passwordMode: 'composition' });
    expect(await audit(operator, 'organisation.settings_changed')).toEqual([]);
    expect(await update(operator, { passwordMode: 'nist' })).toEqual({ requireMfa: true, passwordMode: 'nist' });
  });

  it('refuses unknown settings and bad values naming each field, changing nothing', async () => {
    const before = await settingsOf(school);
    const entries = (await audit(school, 'organisation.settings_changed')).length;
    const cases: [unknown, { field: string; reason: RegExp }[]][] = [
      [{ requireMfa: false, colour: 'blue' }, [{ field: 'colour', reason: /not an organisation setting/ }]],
      [{ requireMfa: 'no' }, [{ field: 'requireMfa', reason: /true or false/ }]],
      [{ passwordMode: 'lenient', requireMfa: false }, [{ field: 'passwordMode', reason: /composition or nist/ }]],
      [{ sessionMinutes: 5, passwordMode: 'weak' }, [{ field: 'sessionMinutes', reason: /not an organisation setting/ }, { field: 'passwordMode', reason: /composition or nist/ }]],
      ['requireMfa', [{ field: '(body)', reason: /./ }]],
    ];
    for (const [input, problems] of cases) {
      const error = await update(school, input).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors).toEqual(problems.map((p) => ({ field: p.field, reason: expect.stringMatching(p.reason) })));
    }
    expect(await settingsOf(school)).toEqual(before);
    expect(await audit(school, 'organisation.settings_changed')).toHaveLength(entries);
  });
});

describe('cancelling an organisation', () => {
  it('cancels it, signs everyone out, revokes every token and removes its people from sign-in, in one go', async () => {
    const doomed = await createTestOrganisation(platform, { kind: 'practice' });
    const bystander = await createTestOrganisation(platform, { kind: 'practice' });
    const email = fakePerson().email;
    // The same person in both organisations: sign-in must still find the other one.
    const users = await Promise.all(
      [doomed, bystander].map((o) => asSystem(platform, o.id, (scope) => inviteUser(scope, { email }, 'http://x'))),
    );
    const sessions = await Promise.all(
      [doomed, bystander].map((o, i) => asSystem(platform, o.id, (scope) => createSession(scope, users[i]!.userId, { mfaVerified: true }))),
    );
    const adminSession = await asSystem(platform, doomed.id, (scope) => createSession(scope, doomed.adminUserId, { mfaVerified: true }));
    const candidates = async () =>
      (await sql<{ tenant_id: string }>`select tenant_id from custos_sign_in_candidates(${platform.keys.platformLookup('users.email', email)})`.execute(platform.db.app)).rows
        .map((r) => r.tenant_id)
        .sort();
    expect(await candidates()).toEqual([doomed.id, bystander.id].sort());

    await cancelOrganisation(platform, doomed.id, systemMeta('test'));

    const row = await platform.db.owner.selectFrom('organisations').select(['status', 'cancelled_at']).where('id', '=', doomed.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('cancelled');
    expect(row.cancelled_at).not.toBeNull();
    const sessionRows = await platform.db.owner.selectFrom('sessions').select(['revoked_at', 'revoked_reason']).where('tenant_id', '=', doomed.id).execute();
    expect(sessionRows).toHaveLength(2);
    for (const s of sessionRows) expect(s).toEqual({ revoked_at: expect.any(Date), revoked_reason: 'organisation cancelled' });
    const tokenRows = await platform.db.owner.selectFrom('api_tokens').select('revoked_at').where('tenant_id', '=', doomed.id).execute();
    expect(tokenRows.length).toBeGreaterThan(0);
    for (const t of tokenRows) expect(t.revoked_at).not.toBeNull();
    expect(await resolveApiToken(platform.db.app, doomed.token)).toBeUndefined();
    expect(await resolveSessionTenant(platform.db.app, adminSession.token)).toBeUndefined();
    expect(await candidates()).toEqual([bystander.id]);

    // The other organisation is untouched.
    expect(await resolveApiToken(platform.db.app, bystander.token)).toMatchObject({ tenantId: bystander.id });
    expect(await resolveSessionTenant(platform.db.app, sessions[1]!.token)).toMatchObject({ tenantId: bystander.id });
    const bystanderRow = await platform.db.owner.selectFrom('organisations').select('status').where('id', '=', bystander.id).executeTakeFirstOrThrow();
    expect(bystanderRow.status).toBe('active');

    const trail = await asSystem(platform, doomed.id, (scope) => listAudit(scope));
    const cancelled = trail.find((e) => e.action === 'organisation.cancelled');
    expect(cancelled).toMatchObject({ targetId: doomed.id, changes: { status: { before: 'active', after: 'cancelled' } } });
    expect(trail.find((e) => e.action === 'session.revoked_all')?.changes).toMatchObject({ reason: { after: 'organisation cancelled' }, sessions: { after: 2 } });
    expect(trail.find((e) => e.action === 'api_token.revoked_all')?.changes).toMatchObject({ tokens: { after: tokenRows.length } });
    // One unit of work: the three entries carry the same request id.
    const parts = trail.filter((e) => ['organisation.cancelled', 'session.revoked_all', 'api_token.revoked_all'].includes(e.action));
    expect(parts).toHaveLength(3);
    expect(new Set(parts.map((e) => e.requestId)).size).toBe(1);

    // Again: nothing more happens.
    await cancelOrganisation(platform, doomed.id, systemMeta('test'));
    expect(await asSystem(platform, doomed.id, (scope) => listAudit(scope))).toHaveLength(trail.length);
    const again = await platform.db.owner.selectFrom('organisations').select('cancelled_at').where('id', '=', doomed.id).executeTakeFirstOrThrow();
    expect(again.cancelled_at).toEqual(row.cancelled_at);
  });

  it('answers not found for an unknown organisation, and changes nothing', async () => {
    await expect(cancelOrganisation(platform, '00000000-0000-4000-8000-000000000000', systemMeta('test'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(cancelOrganisation(platform, 'not-an-id', systemMeta('test'))).rejects.toBeInstanceOf(NotFoundError);
    const cancelled = await platform.db.owner.selectFrom('organisations').select('id').where('status', '=', 'cancelled').execute();
    expect(cancelled.map((o) => o.id)).not.toContain(school.id);
  });
});
