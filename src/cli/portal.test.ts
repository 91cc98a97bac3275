import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pdf } from '../products/client-portal/documents/intake/testing/samples.ts';
import { cliSandbox, onlyJson, type CliSandbox } from './cli-testing.ts';

// Each command is a real process (seconds each on the embedded database): few spawns, many checks.
const SLOW = 600_000;

describe('custos portal', () => {
  let sandbox: CliSandbox;
  afterEach(async () => sandbox?.cleanup());

  it('adds a client, refuses bad input naming the options, uploads and downloads a document, adds credits and verifies a file', { timeout: SLOW }, async () => {
    sandbox = await cliSandbox();
    const org = onlyJson<{ id: string }>(
      (await sandbox.run(['org', 'create', '--kind', 'practice', '--name', 'Ledgerline Partners (test)', '--admin-email', 'admin@ledgerline.example.test', '--json'])).stdout,
    );

    const bad = await sandbox.run(['portal', 'add-client', '--org', org.id, '--kind', 'individual', '--name', ' ', '--company-number', '123']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/name: must not be empty/);
    expect(bad.stderr).toMatch(/company.?number: must be a Companies House number/i);

    const added = await sandbox.run(['portal', 'add-client', '--org', org.id, '--kind', 'company', '--name', 'Quayside Bakery Ltd', '--company-number', '01234567', '--reference', 'QB1', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const client = onlyJson<{ id: string; name: string; companyNumber: string }>(added.stdout);
    expect(client).toMatchObject({ name: 'Quayside Bakery Ltd', companyNumber: '01234567' });

    const file = path.join(sandbox.dataDir, 'accounts.pdf');
    const bytes = pdf();
    fs.writeFileSync(file, bytes);
    const uploaded = await sandbox.run(['portal', 'upload', '--org', org.id, '--client', client.id, '--file', file, '--title', 'Accounts 2026', '--json']);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const { document, version } = onlyJson<{ document: { id: string; title: string }; version: { version: number; scan: string; sha256: string } }>(uploaded.stdout);
    expect(document.title).toBe('Accounts 2026');
    expect(version).toMatchObject({ version: 1, scan: 'not_scanned' });

    // A file that is not what its name says is refused, naming why; nothing is added.
    const fake = path.join(sandbox.dataDir, 'invoice.pdf');
    fs.writeFileSync(fake, Buffer.concat([Buffer.from('MZ'), Buffer.alloc(300, 7)]));
    const refused = await sandbox.run(['portal', 'upload', '--org', org.id, '--client', client.id, '--file', fake]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/file|filename|contentType/);

    const out = path.join(sandbox.dataDir, 'copy.pdf');
    const downloaded = await sandbox.run(['portal', 'download', '--org', org.id, '--document', document.id, '--out', out]);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(fs.readFileSync(out).equals(bytes)).toBe(true);
    expect(downloaded.stdout).toContain(version.sha256);

    const credits = await sandbox.run(['portal', 'add-credits', '--org', org.id, '--signing', '25', '--reason', 'Starter pack', '--json']);
    expect(credits.code, credits.stderr).toBe(0);
    expect(onlyJson<{ signingCredits: number }>(credits.stdout).signingCredits).toBe(25);

    // Invoices to Excel: an empty practice still gets a workbook with its totals row.
    const xlsx = path.join(sandbox.dataDir, 'invoices.xlsx');
    const exported = await sandbox.run(['portal', 'export-invoices', '--org', org.id, '--out', xlsx]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(fs.readFileSync(xlsx).subarray(0, 2).toString()).toBe('PK');
    expect(exported.stdout).toMatch(/Wrote 0 invoices/);

    // The uploaded (unsigned) file is not a signed document: exit 3, said plainly.
    const verified = await sandbox.run(['portal', 'verify', '--document', document.id, '--file', out]);
    expect(verified.code).toBe(3);
    expect(verified.stdout).toMatch(/Does NOT match/);
  });
});
