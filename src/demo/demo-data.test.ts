import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { asSystem } from '../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';
import { cliSandbox, onlyJson, type CliSandbox } from '../cli/cli-testing.ts';
import { listAudit } from '../platform/audit/audit-reader.ts';
import { loadConfig } from '../platform/config/config.ts';
import { InvalidCredentialsError, signIn } from '../platform/identity/accounts.ts';
import { assertPasswordAcceptable } from '../platform/identity/password-policy.ts';
import { listUsers } from '../platform/identity/users.ts';
import { createLogger } from '../platform/logging/logger.ts';
import { ORGANISATION_KINDS } from '../platform/organisations/organisations.ts';
import { createPlatform } from '../platform/platform.ts';
import { systemMeta } from '../platform/tenancy/tenant-scope.ts';
import { listClients } from '../products/client-portal/clients.ts';
import { practiceBalance } from '../products/client-portal/practice.ts';
import { demoPlan, generateDemoPassword, loadDemoData } from './demo-data.ts';

const meta = () => ({ ...systemMeta('test'), ip: '192.0.2.44', userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0' });

describe('demo plan', () => {
  it('is the same on every run, marks every name as demo and uses only reserved mail domains', () => {
    const plan = demoPlan();
    expect(demoPlan()).toEqual(plan);
    expect(new Set(plan.map((o) => o.name)).size).toBe(plan.length);
    for (const organisation of plan) {
      expect(organisation.name).toMatch(/\(demo\)$/);
      for (const person of [organisation.admin, ...organisation.members]) {
        expect(person.email).toMatch(/^[a-z0-9.-]+@[a-z0-9.-]+\.(test|invalid)$/);
      }
    }
  });

  it('generates passwords that meet the default rules and never repeat', () => {
    const passwords = Array.from({ length: 40 }, () => generateDemoPassword());
    expect(new Set(passwords).size).toBe(passwords.length);
    for (const password of passwords) {
      expect(password).toHaveLength(20);
      expect(() => assertPasswordAcceptable(password, { mode: 'composition' })).not.toThrow();
    }
  });
});

describe('demo sign-in details', () => {
  const platforms: TestPlatform[] = [];
  afterEach(async () => {
    for (const p of platforms.splice(0)) await p.close();
  });

  it('gives each admin a freshly generated password that signs in, different in every fresh database', { timeout: 300_000 }, async () => {
    const first = await startTestPlatform();
    platforms.push(first);
    const second = await startTestPlatform();
    platforms.push(second);
    const a = await loadDemoData(first);
    const b = await loadDemoData(second);
    const plan = demoPlan();
    expect(a.created).toHaveLength(plan.length);
    expect(b.created).toHaveLength(plan.length);

    // Same plan, same admin emails, but no password is shared between or within the two runs.
    expect(b.created.map((o) => o.adminEmail)).toEqual(a.created.map((o) => o.adminEmail));
    const passwords = [...a.created, ...b.created].map((o) => o.adminPassword);
    expect(new Set(passwords).size).toBe(passwords.length);

    for (const [i, organisation] of a.created.entries()) {
      const entry = plan[i]!;
      expect(() =>
        assertPasswordAcceptable(organisation.adminPassword, {
          mode: 'composition',
          userInputs: [entry.admin.email, entry.admin.name, entry.name],
        }),
      ).not.toThrow();
      const result = await signIn(first, { email: organisation.adminEmail, password: organisation.adminPassword }, meta());
      expect(result).toMatchObject({ outcome: 'signed-in', tenantId: organisation.id, mfa: organisation.kind === 'practice' ? 'not-required' : 'enrol' });
    }
    // A password from one database is worth nothing in another.
    await expect(signIn(second, { email: a.created[0]!.adminEmail, password: a.created[0]!.adminPassword }, meta())).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(signIn(second, { email: b.created[0]!.adminEmail, password: b.created[0]!.adminPassword }, meta())).resolves.toMatchObject({ outcome: 'signed-in' });

    // The admin is active (invitation used up, audited as accepted); members stay invited.
    const organisation = a.created[1]!;
    const seen = await asSystem(first, organisation.id, async (scope) => ({
      users: await listUsers(scope),
      accepted: await listAudit(scope, { action: 'user.invitation_accepted' }),
      openInvitations: await scope.trx.selectFrom('invitations').select('user_id').where('accepted_at', 'is', null).execute(),
    }));
    const admin = seen.users.find((u) => u.email === organisation.adminEmail)!;
    expect(admin).toMatchObject({ role: 'admin', status: 'active' });
    expect(seen.users.filter((u) => u.role !== 'admin').map((u) => u.status)).toEqual(['invited', 'invited']);
    expect(seen.accepted).toEqual([expect.objectContaining({ targetId: admin.id, changes: expect.objectContaining({ password: { changed: true, personal: true } }) })]);
    expect(seen.openInvitations.map((i) => i.user_id)).not.toContain(admin.id);

    // Only the argon2id hash is kept; the password itself is nowhere in the database.
    const stored = await first.db.owner.selectFrom('users').select('password_hash').where('id', '=', admin.id).executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^\$argon2id\$/);
    for (const table of ['users', 'audit_events', 'invitations']) {
      const dump = JSON.stringify((await sql`select * from ${sql.table(table)}`.execute(first.db.owner)).rows);
      for (const o of a.created) expect(dump, table).not.toContain(o.adminPassword);
    }
  });
});

describe('custos demo', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('prints fresh sign-in details that work, loads every kind with a trust owning two schools, and changes nothing when run again', { timeout: 600_000 }, async () => {
    sandbox = await cliSandbox();
    const loaded = await sandbox.run(['demo']);
    expect(loaded.code).toBe(0);
    const printed = [
      ...loaded.stdout.matchAll(
        /organisation id\s+(\S+)\n(?:.*\n)?\s+sign-in page\s+(\S+)\n\s+admin email\s+(\S+)\n\s+admin password\s+(\S+)\n\s+admin API token\s+(cst_\S+)/g,
      ),
    ].map(([, id, signInUrl, email, password, token]) => ({ id: id!, signInUrl: signInUrl!, email: email!, password: password!, token: token! }));
    expect(printed).toHaveLength(demoPlan().length);
    for (const details of printed) {
      expect(details.signInUrl).toMatch(/^https?:\/\/[^/]+\/sign-in$/);
      expect(details.password).toHaveLength(20);
    }
    expect(loaded.stdout).toMatch(/Schools, trusts, local authorities and the operator require MFA/);
    expect(loaded.stdout).not.toMatch(/\/invite\//);

    const again = await sandbox.run(['demo']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already loaded/);
    expect(again.stdout).not.toMatch(/cst_/);
    for (const details of printed) expect(again.stdout).not.toContain(details.password);

    // What the database holds, not what the command said it did.
    const listed = onlyJson<{ id: string; kind: string; parentId: string | null }[]>((await sandbox.run(['org', 'list', '--json'])).stdout);
    expect(listed.map((o) => o.id).sort()).toEqual(printed.map((p) => p.id).sort());
    expect(new Set(listed.map((o) => o.kind))).toEqual(new Set(ORGANISATION_KINDS));
    const trusts = listed.filter((o) => o.kind === 'trust');
    expect(trusts).toHaveLength(1);
    const trustSchools = listed.filter((o) => o.parentId === trusts[0]!.id);
    expect(trustSchools).toHaveLength(2);
    expect(trustSchools.every((o) => o.kind === 'school')).toBe(true);
    expect(listed.some((o) => o.kind === 'school' && o.parentId === null)).toBe(true);

    // The printed password signs in, against the very database the command wrote.
    const config = loadConfig({
      CUSTOS_DATA_DIR: sandbox.dataDir,
      LOG_LEVEL: 'silent',
      ...(sandbox.databaseUrl ? { DATABASE_URL: sandbox.databaseUrl } : {}),
    });
    const platform = await createPlatform(config, { logger: createLogger({ level: 'silent' }), startQueue: true });
    try {
      const practice = printed[printed.length - 1]!;
      await expect(signIn(platform, { email: practice.email, password: practice.password }, meta())).resolves.toMatchObject({
        outcome: 'signed-in',
        tenantId: practice.id,
      });
      await expect(signIn(platform, { email: printed[0]!.email, password: printed[1]!.password }, meta())).rejects.toBeInstanceOf(InvalidCredentialsError);
      // The demo practice has generated clients (marked as demo) and signing credits for the portal.
      const portal = await platform.inTenant({ tenantId: practice.id, actor: { type: 'system', id: null }, meta: meta() }, async (scope) => ({
        clients: (await listClients(scope)).items.map((c) => c.name),
        balance: await practiceBalance(scope),
      }));
      expect(portal.clients).toHaveLength(4);
      for (const name of portal.clients) expect(name).toMatch(/\(demo\)$/);
      expect(portal.balance.signingCredits).toBe(20);
    } finally {
      await platform.close();
    }
  });
});
