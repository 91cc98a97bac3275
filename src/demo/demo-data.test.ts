import { afterEach, describe, expect, it } from 'vitest';
import { cliSandbox, onlyJson, type CliSandbox } from '../cli/cli-testing.ts';
import { ORGANISATION_KINDS } from '../platform/organisations/organisations.ts';
import { demoPlan, type DemoLoadResult } from './demo-data.ts';

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
});

describe('custos demo', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('loads organisations of every kind, with the trust owning two schools, and changes nothing when run again', { timeout: 600_000 }, async () => {
    sandbox = await cliSandbox();
    const loaded = await sandbox.run(['demo', '--json']);
    expect(loaded.code).toBe(0);
    const result = onlyJson<DemoLoadResult>(loaded.stdout);
    expect(result.alreadyPresent).toEqual([]);
    for (const organisation of result.created) {
      expect(organisation.token).toMatch(/^cst_/);
      expect(organisation.inviteUrl).toMatch(/\/invite\//);
      expect(organisation.invitedMembers).toBeGreaterThanOrEqual(2);
    }

    const again = await sandbox.run(['demo']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already loaded/);
    expect(again.stdout).not.toMatch(/cst_/);

    // What the database holds, not what the command said it did.
    const listed = onlyJson<{ id: string; kind: string; parentId: string | null }[]>((await sandbox.run(['org', 'list', '--json'])).stdout);
    expect(listed).toHaveLength(result.created.length);
    expect(new Set(listed.map((o) => o.kind))).toEqual(new Set(ORGANISATION_KINDS));
    const trusts = listed.filter((o) => o.kind === 'trust');
    expect(trusts).toHaveLength(1);
    const trustSchools = listed.filter((o) => o.parentId === trusts[0]!.id);
    expect(trustSchools).toHaveLength(2);
    expect(trustSchools.every((o) => o.kind === 'school')).toBe(true);
    expect(listed.some((o) => o.kind === 'school' && o.parentId === null)).toBe(true);
  });
});
