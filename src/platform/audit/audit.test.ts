import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { inviteUser } from '../identity/users.ts';
import { auditToCsv, listAudit } from './audit-reader.ts';
import { verifyAuditChain } from './audit-verify.ts';
import { recordAudit } from './audit-writer.ts';

let platform: TestPlatform;
let org: TestOrganisation;

const verify = (tenantId: string) => asSystem(platform, tenantId, (scope) => verifyAuditChain(scope.trx, tenantId));
const owner = () => platform.db.owner;

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => platform?.close());

beforeEach(async () => {
  org = await createTestOrganisation(platform);
  for (let i = 0; i < 4; i++) {
    await platform.inTenant(
      { tenantId: org.id, actor: { type: 'user', id: org.adminUserId }, meta: { requestId: `req-${i}`, ip: `192.0.2.${i}`, userAgent: 'TestAgent/1.0' } },
      (scope) => inviteUser(scope, { email: `teacher${i}@example.test`, role: 'member' }, 'http://x'),
    );
  }
});

describe('audit trail', () => {
  it('records who, what, which target, when, from where, with personal values masked', async () => {
    const entries = await asSystem(platform, org.id, (scope) => listAudit(scope, { action: 'user.invited', actorId: org.adminUserId }));
    expect(entries).toHaveLength(4);
    const newest = entries[0]!;
    expect(newest).toMatchObject({
      actorType: 'user', actorId: org.adminUserId, action: 'user.invited', targetType: 'user',
      ip: '192.0.2.3', userAgent: 'TestAgent/1.0', requestId: 'req-3',
      changes: { email: { changed: true, personal: true }, role: { before: null, after: 'member' } },
    });
    expect(JSON.stringify(entries)).not.toContain('teacher3@example.test');
    // The IP and user agent are sealed at rest.
    const raw = await owner().selectFrom('audit_events').select(['ip_enc', 'user_agent_enc']).where('tenant_id', '=', org.id).where('request_id', '=', 'req-3').executeTakeFirstOrThrow();
    expect(raw.ip_enc).toMatch(/^c1\./);
    expect(raw.user_agent_enc).not.toContain('TestAgent');
  });

  it('filters by date and exports CSV with formula-looking cells neutralised', async () => {
    const future = await asSystem(platform, org.id, (scope) => listAudit(scope, { from: new Date(Date.now() + 60_000) }));
    expect(future).toEqual([]);
    await asSystem(platform, org.id, (scope) => recordAudit(scope, { action: 'setting.changed', changes: { label: { after: '=HYPERLINK("http://evil")' } } }));
    const csv = auditToCsv(await asSystem(platform, org.id, (scope) => listAudit(scope)));
    expect(csv.split('\n')[0]).toContain('seq,id,occurredAt');
    expect(csv).toContain('user.invited');
    expect(csv).not.toMatch(/(^|,)"?=HYPERLINK/m);
  });

  it('is written in the same transaction as the change: a rollback leaves no entry', async () => {
    const before = await verify(org.id);
    await expect(
      asSystem(platform, org.id, async (scope) => {
        await inviteUser(scope, { email: 'rolled.back@example.test' }, 'http://x');
        throw new Error('crash after the write');
      }),
    ).rejects.toThrow('crash after the write');
    const after = await verify(org.id);
    expect(after.entries).toBe(before.entries);
    expect(after.ok).toBe(true);
  });

  it('verifies an untouched chain', async () => {
    const report = await verify(org.id);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.entries).toBe(7); // organisation.created, admin invited, api_token.created, 4 invites
  });

  it('detects an edited entry', async () => {
    await sql`update audit_events set changes = '{"role":{"before":null,"after":"admin"}}' where tenant_id = ${org.id} and seq = 4`.execute(owner());
    const report = await verify(org.id);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual({ seq: 4, reason: expect.stringMatching(/altered/) });
  });

  it('detects a deleted entry in the middle', async () => {
    await sql`delete from audit_events where tenant_id = ${org.id} and seq = 3`.execute(owner());
    const report = await verify(org.id);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.seq)).toContain(4);
  });

  it('detects deleted newest entries', async () => {
    await sql`delete from audit_events where tenant_id = ${org.id} and seq >= 6`.execute(owner());
    const report = await verify(org.id);
    expect(report.ok).toBe(false);
    expect(report.problems[0]!.reason).toMatch(/newest entries were removed/);
  });

  it('detects two entries swapped', async () => {
    await owner().transaction().execute(async (trx) => {
      await sql`update audit_events set seq = 100 where tenant_id = ${org.id} and seq = 4`.execute(trx);
      await sql`update audit_events set seq = 4 where tenant_id = ${org.id} and seq = 5`.execute(trx);
      await sql`update audit_events set seq = 5 where tenant_id = ${org.id} and seq = 100`.execute(trx);
    });
    const report = await verify(org.id);
    expect(report.ok).toBe(false);
    expect(report.problems.some((p) => p.seq === 4 || p.seq === 5)).toBe(true);
  });

  it("does not accept another tenant's entry transplanted into the chain", async () => {
    const other = await createTestOrganisation(platform);
    await sql`update audit_events set tenant_id = ${org.id}, seq = 50 where tenant_id = ${other.id} and seq = 1`.execute(owner());
    const report = await verify(org.id);
    expect(report.ok).toBe(false);
  });

  it('keeps appends ordered under concurrency', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => asSystem(platform, org.id, (scope) => recordAudit(scope, { action: 'setting.changed', changes: { n: { after: i } } }))),
    );
    const report = await verify(org.id);
    expect(report).toMatchObject({ ok: true, entries: 15 });
  });
});
