import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { mailText, startSmtpServer, type ReceivedMail } from '../../../test/smtp.ts';
import { inviteUser } from '../../platform/identity/users.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { excludeMember, grant, includeMember, isSharingPaused, listGrants, revoke, setSharingPaused, sharingOverview, utcDay } from './sharing.ts';
import { importSharingSchool, type ImportedSchool } from './testing/sharing-fixture.ts';

let platform: TestPlatform;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let a: TestOrganisation;
let ids: ImportedSchool;
let secondAdminEmail: string;
let invitedAdminEmail: string;
let memberEmail: string;

const deps = () => ({ queue: platform.queue });
/** Acts as A's first admin, as the sharing page would. */
const asAdmin = <T>(work: (scope: TenantScope) => Promise<T>) =>
  platform.inTenant({ tenantId: a.id, actor: { type: 'user', id: a.adminUserId }, meta: { requestId: `test-${Date.now()}`, ip: '192.0.2.1' } }, work);

const RECEIPT = /^Subject: Custos sharing receipt: (.*)$/m;
/** The mail with folded header lines unfolded. */
const textOf = (mail: ReceivedMail) => mailText(mail).replace(/\r?\n[ \t]+/g, ' ');
const receipts = () => smtp.received.filter((m) => RECEIPT.test(textOf(m)));
/** Receipts the changes made so far should have produced. */
let expectedReceipts = 0;
/** Expects `count` more receipts: waits for them, checks no others came, and returns them. */
async function newReceipts(count: number): Promise<ReceivedMail[]> {
  const seen = expectedReceipts;
  expectedReceipts += count;
  const deadline = Date.now() + 20_000;
  while (receipts().length < expectedReceipts) {
    if (Date.now() > deadline) throw new Error(`expected ${expectedReceipts} receipts, got ${receipts().length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Give any unexpected extra receipt time to arrive.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(receipts().length, 'receipts sent').toBe(expectedReceipts);
  return receipts().slice(seen);
}

async function auditEntries(action: string) {
  return asSystem(platform, a.id, (scope) =>
    scope.trx.selectFrom('audit_events').select(['id', 'actor_type', 'actor_id', 'target_type', 'target_id', 'changes']).where('action', '=', action).orderBy('seq').execute(),
  );
}

beforeAll(async () => {
  smtp = await startSmtpServer();
  platform = await startTestPlatform({ runWorkers: true, env: { SMTP_URL: smtp.url, SMTP_FROM: 'Custos <no-reply@custos.test>' } });
  a = await createTestOrganisation(platform);
  secondAdminEmail = fakePerson().email;
  invitedAdminEmail = fakePerson().email;
  memberEmail = fakePerson().email;
  await asSystem(platform, a.id, async (scope) => {
    const second = await inviteUser(scope, { email: secondAdminEmail, role: 'admin' }, 'http://x');
    await inviteUser(scope, { email: invitedAdminEmail, role: 'admin' }, 'http://x');
    const member = await inviteUser(scope, { email: memberEmail, role: 'member' }, 'http://x');
    // The first admin and the second have accepted; the third admin has not, and the member is no admin.
    await scope.trx.updateTable('users').set({ status: 'active' }).where('id', 'in', [a.adminUserId, second.userId, member.userId]).execute();
  });
  ids = await importSharingSchool(platform, a.id);
});

afterAll(async () => {
  await platform?.close();
  await smtp?.close();
});

describe('school-controlled sharing', () => {
  it('grants, audits without personal values, and sends a time-stamped receipt to every active admin only', async () => {
    const before = Date.now();
    const created = await asAdmin((scope) => grant(deps(), scope, { granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.contact', 'pupils.basic'] }));
    expect(created).toMatchObject({ granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.basic', 'pupils.contact'], createdBy: `user:${a.adminUserId}`, revokedAt: null, exclusions: [] });

    const [entry] = await auditEntries('sync.sharing_granted');
    expect(entry).toMatchObject({ actor_type: 'user', actor_id: a.adminUserId, target_type: 'sync_grant', target_id: created.id });
    expect(entry!.changes).toEqual({
      granteeKind: { before: null, after: 'product' },
      grantee: { before: null, after: 'messaging' },
      scopes: { before: null, after: 'pupils.basic,pupils.contact' },
    });

    // Two: none to the admin who has not accepted the invitation, none to the member.
    const mails = await newReceipts(2);
    expect(mails.flatMap((m) => m.to).sort()).toEqual([a.adminEmail, secondAdminEmail].sort());
    for (const mail of mails) {
      const text = textOf(mail);
      expect(text).toMatch(RECEIPT);
      expect(text).toContain('messaging may read pupils.basic, pupils.contact');
      expect(text).toContain(`Made by: ${a.adminEmail}`);
      expect(text).toContain(`Receipt: audit entry ${entry!.id}`);
      const stamp = /When: +(\S+) \(UTC\)/.exec(text)?.[1];
      expect(Date.parse(stamp!)).toBeGreaterThanOrEqual(before - 1_000);
      expect(Date.parse(stamp!)).toBeLessThanOrEqual(Date.now());
    }
  });

  it('replaces a grantee’s scopes when granted again, keeping its exclusions, and lists only live grants by default', async () => {
    const [first] = await asAdmin((scope) => listGrants(scope));
    await asAdmin((scope) => excludeMember(deps(), scope, first!.id, { memberKind: 'pupil', memberId: ids.pupils.P1 }));
    const replaced = await asAdmin((scope) => grant(deps(), scope, { granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.basic'] }));
    expect(replaced.id).not.toBe(first!.id);
    expect(replaced.exclusions).toEqual([{ memberKind: 'pupil', memberId: ids.pupils.P1 }]);
    await newReceipts(4);
    const live = await asAdmin((scope) => listGrants(scope));
    expect(live.map((g) => [g.id, g.scopes])).toEqual([[replaced.id, ['pupils.basic']]]);
    const all = await asAdmin((scope) => listGrants(scope, { includeRevoked: true }));
    expect(all.find((g) => g.id === first!.id)!.revokedAt).not.toBeNull();
    const [, second] = await auditEntries('sync.sharing_granted');
    expect(second!.changes).toMatchObject({ scopes: { before: 'pupils.basic,pupils.contact', after: 'pupils.basic' }, replaces: { before: null, after: first!.id } });
    // A product and an API client cannot share a name.
    await expect(asAdmin((scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: 'messaging', scopes: ['staff'] }))).rejects.toMatchObject({ status: 400, errors: [{ field: 'grantee' }] });
  });

  it('audits and sends receipts for exclusions, inclusions, pausing, resuming and revoking; repeating a change sends nothing', async () => {
    const [current] = await asAdmin((scope) => listGrants(scope));
    await asAdmin(async (scope) => {
      await excludeMember(deps(), scope, current!.id, { memberKind: 'staff', memberId: ids.staff.S1 });
      // Already excluded: no change, no entry, no mail.
      await excludeMember(deps(), scope, current!.id, { memberKind: 'staff', memberId: ids.staff.S1 });
      await includeMember(deps(), scope, current!.id, { memberKind: 'staff', memberId: ids.staff.S1 });
      await includeMember(deps(), scope, current!.id, { memberKind: 'staff', memberId: ids.staff.S1 });
      await setSharingPaused(deps(), scope, true);
      await setSharingPaused(deps(), scope, true);
      expect(await isSharingPaused(scope)).toBe(true);
      await setSharingPaused(deps(), scope, false);
      await revoke(deps(), scope, current!.id);
    });
    const mails = await newReceipts(10);
    const subjects = [...new Set(mails.map((m) => RECEIPT.exec(textOf(m))![1]!.trim()))];
    expect(subjects.sort()).toEqual(
      [
        'a staff member is no longer shared with messaging',
        'a staff member is shared with messaging again',
        'all sharing paused',
        'sharing resumed',
        'messaging may no longer read school data',
      ].sort(),
    );

    // One entry per change (the pupil excluded in the test before adds one more exclusion).
    for (const action of ['sync.sharing_member_included', 'sync.sharing_paused', 'sync.sharing_resumed', 'sync.sharing_revoked']) {
      expect(await auditEntries(action), action).toHaveLength(1);
    }
    const [, excluded, extra] = await auditEntries('sync.sharing_member_excluded');
    expect(extra).toBeUndefined();
    expect(excluded!.changes).toEqual({ grantee: { before: 'messaging', after: 'messaging' }, memberKind: { before: null, after: 'staff' }, memberId: { before: null, after: ids.staff.S1 } });
    // Neither the trail nor the receipts carry a name of the school's pupils or staff.
    const trail = JSON.stringify(await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('audit_events').select('changes').where('action', 'like', 'sync.%').execute()));
    const text = receipts().map(textOf).join('\n');
    for (const name of ['Annabel', 'Smith', 'Olive', 'Teacher', 'Benedict']) {
      expect(trail).not.toContain(name);
      expect(text).not.toContain(name);
    }
    // Revoked: gone from the live list, and no longer changeable.
    expect(await asAdmin((scope) => sharingOverview(scope))).toEqual({ paused: false, grants: [] });
    await expect(asAdmin((scope) => revoke(deps(), scope, current!.id))).rejects.toMatchObject({ status: 404 });
    await expect(asAdmin((scope) => excludeMember(deps(), scope, current!.id, { memberKind: 'pupil', memberId: ids.pupils.P2 }))).rejects.toMatchObject({ status: 404 });
  });

  it('refuses bad input naming the field, unknown members and grants, and writes nothing', async () => {
    const entriesBefore = (await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('audit_events').select('id').execute())).length;
    const attempts: [unknown, string][] = [
      [{ granteeKind: 'product', grantee: 'pizza-delivery', scopes: ['pupils.basic'] }, 'grantee'],
      [{ granteeKind: 'product', grantee: 'cashless', scopes: ['everything'] }, 'scopes.0'],
      [{ granteeKind: 'product', grantee: 'cashless', scopes: [] }, 'scopes'],
      [{ granteeKind: 'product', grantee: 'cashless', scopes: ['staff', 'staff'] }, 'scopes'],
      [{ granteeKind: 'robot', grantee: 'cashless', scopes: ['staff'] }, 'granteeKind'],
      [{ granteeKind: 'api_client', grantee: 'drop table; --', scopes: ['staff'] }, 'grantee'],
    ];
    for (const [input, field] of attempts) {
      await expect(asAdmin((scope) => grant(deps(), scope, input as never)), field).rejects.toMatchObject({ status: 400, errors: [expect.objectContaining({ field })] });
    }
    const live = await asAdmin((scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: 'timetable-app-7', scopes: ['staff', 'groups'] }));
    await expect(asAdmin((scope) => excludeMember(deps(), scope, live.id, { memberKind: 'pupil', memberId: ids.staff.S1 }))).rejects.toMatchObject({ status: 404, message: 'pupil not found' });
    await expect(asAdmin((scope) => excludeMember(deps(), scope, live.id, { memberKind: 'pupil', memberId: 'P1' }))).rejects.toMatchObject({ status: 400, errors: [{ field: 'memberId' }] });
    await expect(asAdmin((scope) => revoke(deps(), scope, crypto.randomUUID()))).rejects.toMatchObject({ status: 404 });
    const entriesAfter = (await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('audit_events').select('id').execute())).length;
    expect(entriesAfter).toBe(entriesBefore + 1);
    await newReceipts(2);
  });

  it('shows reads per day over the last 30 days', async () => {
    const day = (ago: number) => utcDay(new Date(Date.now() - ago * 86_400_000));
    await asSystem(platform, a.id, (scope) =>
      scope.trx
        .insertInto('sync_read_counts')
        .values([0, 1, 29, 30, 45].map((ago) => ({ tenant_id: a.id, grantee: 'timetable-app-7', day: day(ago), reads: 100 + ago })))
        .execute(),
    );
    const [timetable] = (await asAdmin((scope) => listGrants(scope))).filter((g) => g.grantee === 'timetable-app-7');
    expect(timetable!.reads).toEqual([
      { day: day(29), reads: 129 },
      { day: day(1), reads: 101 },
      { day: day(0), reads: 100 },
    ]);
  });

  it('has nothing to share in an organisation that is not a school', async () => {
    const trust = await createTestOrganisation(platform, { kind: 'trust' });
    await asSystem(platform, trust.id, async (scope) => {
      await expect(grant(deps(), scope, { granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.basic'] })).rejects.toMatchObject({ status: 409 });
      await expect(setSharingPaused(deps(), scope, true)).rejects.toMatchObject({ status: 409 });
      expect(await sharingOverview(scope)).toEqual({ paused: false, grants: [] });
    });
  });
});
