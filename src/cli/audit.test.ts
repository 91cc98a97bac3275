import { afterEach, describe, expect, it } from 'vitest';
import { cliSandbox, onlyJson, type CliSandbox } from './cli-testing.ts';

// Generous: CI machines run these beside the rest of the suite, and a spawn there can take 20 s.
const SLOW = 600_000;

describe('custos audit verify', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('passes an untouched chain and exits 1 naming the entry after one is edited in the database', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const org = onlyJson<{ id: string }>(
      (await sandbox.run(['org', 'create', '--kind', 'practice', '--name', 'Ledgerwick Accountants (test)', '--admin-email', 'partner@ledgerwick.example.test', '--json'])).stdout,
    );

    const intact = await sandbox.run(['audit', 'verify', '--org', org.id, '--json']);
    expect(intact.code).toBe(0);
    const report = onlyJson<{ ok: boolean; entries: number; problems: unknown[] }>(intact.stdout);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.entries).toBeGreaterThanOrEqual(2);

    // Tampering as someone with direct database access would: the owner edits the first entry.
    await sandbox.ownerSql(`UPDATE audit_events SET action = 'x.y' WHERE tenant_id = $1 AND seq = 1`, [org.id]);

    const tampered = await sandbox.run(['audit', 'verify', '--org', org.id]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/TAMPERING DETECTED/);
    expect(tampered.stdout).toMatch(/seq 1: content does not match its hash/);
  });
});
