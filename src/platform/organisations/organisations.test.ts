import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { listAudit } from '../audit/audit-reader.ts';
import { ValidationError } from '../errors.ts';
import { listUsers } from '../identity/users.ts';
import { SYSTEM_ACTOR, systemMeta } from '../tenancy/tenant-scope.ts';
import { createOrganisation, getOrganisation, listAllOrganisations } from './organisations.ts';

let platform: TestPlatform;
const by = { actor: SYSTEM_ACTOR, meta: systemMeta('test') };
const counts = async () => ({
  organisations: (await platform.db.owner.selectFrom('organisations').select('id').execute()).length,
  users: (await platform.db.owner.selectFrom('users').select('id').execute()).length,
  audit: (await platform.db.owner.selectFrom('audit_events').select('seq').execute()).length,
});

beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => platform?.close());

describe('organisations', () => {
  it('creates a tenant with keys, audit chain and an invited admin, all of every kind', async () => {
    for (const kind of ['operator', 'school', 'trust', 'local_authority', 'practice'] as const) {
      const org = await createTestOrganisation(platform, { kind });
      const seen = await asSystem(platform, org.id, async (scope) => ({
        organisation: await getOrganisation(scope),
        users: await listUsers(scope),
        audit: await listAudit(scope),
      }));
      expect(seen.organisation).toMatchObject({ id: org.id, kind, status: 'active' });
      expect(seen.users).toEqual([expect.objectContaining({ email: org.adminEmail, role: 'admin', status: 'invited' })]);
      expect(seen.audit.map((e) => e.action).reverse()).toEqual(['organisation.created', 'user.invited', 'api_token.created']);
    }
  });

  it('lets a school belong to a trust, and nothing else belong to anything', async () => {
    const trust = await createTestOrganisation(platform, { kind: 'trust' });
    const school = await createTestOrganisation(platform, { kind: 'school', parentId: trust.id });
    const all = await listAllOrganisations(platform);
    expect(all.find((o) => o.id === school.id)?.parentId).toBe(trust.id);

    const before = await counts();
    await expect(createOrganisation(platform, { kind: 'practice', name: 'Ledger & Co', adminEmail: 'a@example.test', parentId: trust.id }, by))
      .rejects.toMatchObject({ errors: [{ field: 'parentId', reason: 'only a school may belong to a trust' }] });
    await expect(createOrganisation(platform, { kind: 'school', name: 'Orphan School', adminEmail: 'a@example.test', parentId: school.id }, by))
      .rejects.toBeInstanceOf(ValidationError);
    expect(await counts()).toEqual(before);
  });

  it('rejects bad input naming each field, and writes nothing', async () => {
    const before = await counts();
    const attempt = createOrganisation(platform, { kind: 'spaceship' as 'school', name: '  ', adminEmail: 'nope' }, by);
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    const fields = await attempt.catch((e: ValidationError) => e.errors!.map((p) => p.field).sort());
    expect(fields).toEqual(['adminEmail', 'kind', 'name']);
    expect(await counts()).toEqual(before);
  });
});
