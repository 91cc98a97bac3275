import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { mailText, startSmtpServer, type ReceivedMail } from '../../../test/smtp.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { CopiesNotDeletedError, copyHolderFor, registerCopyHolder } from './copy-holders.ts';
import { grant, listGrants, revoke } from './sharing.ts';

/**
 * A test-only product that keeps copies of school data. There is no product table yet, so its
 * copies live in memory, keyed by school (tenant) and then by entity.
 */
const copies = new Map<string, Map<string, string[]>>();
const forgetCalls: { tenantId: string; actorType: string }[] = [];
registerCopyHolder('test-roster-cache', {
  describe: "the test roster cache's copy of pupils and contacts",
  async forget(scope: TenantScope) {
    forgetCalls.push({ tenantId: scope.tenantId, actorType: scope.actor.type });
    const held = copies.get(scope.tenantId);
    copies.delete(scope.tenantId);
    return [...(held ?? new Map<string, string[]>())].map(([entity, records]) => ({ entity, deleted: records.length }));
  },
});
registerCopyHolder('test-broken-cache', {
  describe: 'a cache whose store is down',
  async forget() {
    throw new Error('store unreachable');
  },
});

function keep(tenantId: string, entity: string, records: string[]): void {
  const held = copies.get(tenantId) ?? new Map<string, string[]>();
  held.set(entity, [...(held.get(entity) ?? []), ...records]);
  copies.set(tenantId, held);
}

let platform: TestPlatform;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let a: TestOrganisation;
let b: TestOrganisation;

const deps = () => ({ queue: platform.queue });
const asAdminOf = <T>(org: TestOrganisation, work: (scope: TenantScope) => Promise<T>) =>
  platform.inTenant({ tenantId: org.id, actor: { type: 'user', id: org.adminUserId }, meta: { requestId: `test-${Date.now()}` } }, work);

const textOf = (mail: ReceivedMail) => mailText(mail).replace(/\r?\n[ \t]+/g, ' ');
const SUBJECT = /^Subject: (Custos (?:sharing|deletion) receipt: .*)$/m;
const subjectOf = (mail: ReceivedMail) => SUBJECT.exec(textOf(mail))?.[1]?.trim();
const mailsTo = (email: string) => smtp.received.filter((m) => m.to.includes(email) && subjectOf(m));

/** Waits until `email` has `count` receipts in all, then a moment more to catch any extra. */
async function receiptsTo(email: string, count: number): Promise<ReceivedMail[]> {
  const deadline = Date.now() + 20_000;
  while (mailsTo(email).length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} receipts to ${email}, got ${mailsTo(email).length}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(mailsTo(email).map(subjectOf)).toHaveLength(count);
  return mailsTo(email);
}

async function auditEntries(org: TestOrganisation, action: string) {
  return asSystem(platform, org.id, (scope) =>
    scope.trx.selectFrom('audit_events').select(['id', 'seq', 'target_id', 'changes']).where('action', '=', action).orderBy('seq').execute(),
  );
}

beforeAll(async () => {
  smtp = await startSmtpServer();
  platform = await startTestPlatform({ runWorkers: true, env: { SMTP_URL: smtp.url, SMTP_FROM: 'Custos <no-reply@custos.test>' } });
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  for (const org of [a, b]) {
    await asSystem(platform, org.id, (scope) => scope.trx.updateTable('users').set({ status: 'active' }).where('id', '=', org.adminUserId).execute());
  }
});

afterAll(async () => {
  await platform?.close();
  await smtp?.close();
});

describe('registerCopyHolder', () => {
  it('keeps one holder per grantee and refuses what is not a holder', () => {
    expect(copyHolderFor('test-roster-cache')?.describe).toContain('test roster cache');
    expect(copyHolderFor('timetable-app-7')).toBeUndefined();
    expect(() => registerCopyHolder('test-roster-cache', { describe: 'again', forget: async () => [] })).toThrow(/already registered/);
    expect(() => registerCopyHolder('bad name!', { describe: 'x', forget: async () => [] })).toThrow(TypeError);
    expect(() => registerCopyHolder('no-describe', { describe: ' ', forget: async () => [] })).toThrow(TypeError);
    expect(() => registerCopyHolder('no-forget', { describe: 'x' } as never)).toThrow(TypeError);
    expect(copyHolderFor('no-describe')).toBeUndefined();
  });
});

describe('revoking a grant deletes the copies the grantee kept', () => {
  it("deletes the school's copies once, in the revocation, audits the counts and sends a deletion receipt; another school's copies stay", async () => {
    keep(a.id, 'pupils', ['a-p1', 'a-p2', 'a-p3']);
    keep(a.id, 'contacts', ['a-c1', 'a-c2']);
    keep(b.id, 'pupils', ['b-p1']);
    const grantA = await asAdminOf(a, (scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: 'test-roster-cache', scopes: ['pupils.basic', 'contacts'] }));
    const grantB = await asAdminOf(b, (scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: 'test-roster-cache', scopes: ['pupils.basic'] }));
    await receiptsTo(a.adminEmail, 1);
    await receiptsTo(b.adminEmail, 1);

    const before = Date.now();
    await asAdminOf(a, (scope) => revoke(deps(), scope, grantA.id));
    expect(forgetCalls).toEqual([{ tenantId: a.id, actorType: 'user' }]);
    expect(copies.has(a.id)).toBe(false);
    expect(copies.get(b.id)?.get('pupils')).toEqual(['b-p1']);
    expect((await asAdminOf(b, (scope) => listGrants(scope))).map((g) => g.id)).toEqual([grantB.id]);

    const [entry, extra] = await auditEntries(a, 'sync.copies_deleted');
    expect(extra).toBeUndefined();
    expect(entry).toMatchObject({ target_id: grantA.id });
    expect(entry!.changes).toEqual({
      grantee: { before: 'test-roster-cache', after: 'test-roster-cache' },
      total: { before: null, after: 5 },
      'deleted.pupils': { before: null, after: 3 },
      'deleted.contacts': { before: null, after: 2 },
    });
    expect(await auditEntries(b, 'sync.copies_deleted')).toEqual([]);
    // The trail holds counts, never the records.
    expect(JSON.stringify(await auditEntries(a, 'sync.sharing_revoked'))).not.toMatch(/a-p1|a-c1/);

    const mails = await receiptsTo(a.adminEmail, 3);
    const deletion = mails.filter((m) => subjectOf(m) === 'Custos deletion receipt: test-roster-cache deleted its copies of school data');
    expect(deletion).toHaveLength(1);
    const text = textOf(deletion[0]!);
    expect(text).toContain("the test roster cache's copy of pupils and contacts:");
    expect(text).toMatch(/pupils: 3 records/);
    expect(text).toMatch(/contacts: 2 records/);
    expect(text).toContain(`5 records in all, deleted when the school revoked test-roster-cache's grant (${grantA.id})`);
    expect(text).toContain(`Receipt: audit entry ${entry!.id}`);
    expect(text).toContain(`Made by: ${a.adminEmail}`);
    expect(text).not.toMatch(/a-p1|a-c1/);
    const stamp = /When: +(\S+) \(UTC\)/.exec(text)?.[1];
    expect(Date.parse(stamp!)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(stamp!)).toBeLessThanOrEqual(Date.now());
    const revocation = mails.find((m) => subjectOf(m) === 'Custos sharing receipt: test-roster-cache may no longer read school data');
    expect(textOf(revocation!)).toContain('deleted its copies of the school\'s data in the same change');

    // Now B revokes: only B's copies go, and A's receipts do not grow.
    await asAdminOf(b, (scope) => revoke(deps(), scope, grantB.id));
    expect(forgetCalls).toEqual([
      { tenantId: a.id, actorType: 'user' },
      { tenantId: b.id, actorType: 'user' },
    ]);
    expect(copies.size).toBe(0);
    expect((await auditEntries(b, 'sync.copies_deleted'))[0]!.changes).toMatchObject({ 'deleted.pupils': { after: 1 }, total: { after: 1 } });
    expect(await auditEntries(a, 'sync.copies_deleted')).toHaveLength(1);
    await receiptsTo(b.adminEmail, 3);
    await receiptsTo(a.adminEmail, 3);
  });

  it('leaves the grant in place, writes nothing and sends no receipt when the grantee cannot delete its copies', async () => {
    const live = await asAdminOf(a, (scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: 'test-broken-cache', scopes: ['staff'] }));
    await receiptsTo(a.adminEmail, 4);
    const entriesBefore = await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('audit_events').select('id').execute());

    const failure = asAdminOf(a, (scope) => revoke(deps(), scope, live.id));
    await expect(failure).rejects.toBeInstanceOf(CopiesNotDeletedError);
    await expect(failure).rejects.toMatchObject({ status: 503, message: expect.stringContaining("the grant to 'test-broken-cache' was not revoked"), cause: { message: 'store unreachable' } });

    expect((await asAdminOf(a, (scope) => listGrants(scope))).map((g) => [g.id, g.revokedAt])).toEqual([[live.id, null]]);
    const entriesAfter = await asSystem(platform, a.id, (scope) => scope.trx.selectFrom('audit_events').select('id').execute());
    expect(entriesAfter).toEqual(entriesBefore);
    // Still 4: neither the revocation receipt nor a deletion receipt went out.
    await receiptsTo(a.adminEmail, 4);
  });

  it('tells the school honestly that an outside app with no holder cannot be made to delete what it copied', async () => {
    const live = await asAdminOf(a, (scope) => grant(deps(), scope, { granteeKind: 'api_client', grantee: 'timetable-app-7', scopes: ['staff'] }));
    await asAdminOf(a, (scope) => revoke(deps(), scope, live.id));
    const mails = await receiptsTo(a.adminEmail, 6);
    const text = textOf(mails.find((m) => subjectOf(m) === 'Custos sharing receipt: timetable-app-7 may no longer read school data')!);
    expect(text).toContain('timetable-app-7 is an outside app: Custos cannot delete what it has already copied.');
    expect(text).toContain("Ask the supplier to delete the school's data and confirm it in writing.");
    expect(mails.filter((m) => subjectOf(m)?.startsWith('Custos deletion receipt: timetable-app-7'))).toEqual([]);
    expect(await auditEntries(a, 'sync.copies_deleted')).toHaveLength(1);

    // A Custos product that registered no holder keeps no copies to delete, and the receipt says so.
    const product = await asAdminOf(a, (scope) => grant(deps(), scope, { granteeKind: 'product', grantee: 'messaging', scopes: ['pupils.basic'] }));
    await asAdminOf(a, (scope) => revoke(deps(), scope, product.id));
    const productMails = await receiptsTo(a.adminEmail, 8);
    const productText = textOf(productMails.find((m) => subjectOf(m) === 'Custos sharing receipt: messaging may no longer read school data')!);
    expect(productText).toContain("messaging keeps no copies of the school's data in Custos (it declares none), so there is nothing to delete.");
    expect(await auditEntries(a, 'sync.copies_deleted')).toHaveLength(1);
  });
});
