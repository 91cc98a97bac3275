import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { pdf } from '../products/client-portal/documents/intake/testing/samples.ts';
import { cliSandbox, onlyJson, type CliSandbox } from './cli-testing.ts';

const run = promisify(execFile);

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

    // An invoice from a lines file: a bad line is named and nothing is raised; then one is, and drawn as a PDF.
    const linesFile = path.join(sandbox.dataDir, 'lines.json');
    fs.writeFileSync(linesFile, JSON.stringify([{ description: 'Year-end accounts', quantity: 1, unitPricePence: 90_000, vatRate: '20%' }]));
    const badInvoice = await sandbox.run(['portal', 'raise-invoice', '--org', org.id, '--client', client.id, '--due', '2099-01-31', '--lines', linesFile]);
    expect(badInvoice.code).toBe(2);
    expect(badInvoice.stderr).toMatch(/lines\[0\]\.vatRate/);
    fs.writeFileSync(linesFile, JSON.stringify([{ description: 'Year-end accounts', quantity: 1, unitPricePence: 90_000, vatRate: 'standard' }]));
    const raised = await sandbox.run(['portal', 'raise-invoice', '--org', org.id, '--client', client.id, '--due', '2099-01-31', '--lines', linesFile, '--json']);
    expect(raised.code, raised.stderr).toBe(0);
    const invoice = onlyJson<{ id: string; number: string; grossPence: number }>(raised.stdout);
    expect(invoice).toMatchObject({ number: 'INV-000001', grossPence: 108_000 });
    const invoicePdf = path.join(sandbox.dataDir, 'INV-000001.pdf');
    const drawn = await sandbox.run(['portal', 'invoice-pdf', '--org', org.id, '--invoice', invoice.id, '--out', invoicePdf]);
    expect(drawn.code, drawn.stderr).toBe(0);
    const pdfText = (await run('/usr/bin/pdftotext', ['-layout', invoicePdf, '-'])).stdout;
    expect(pdfText).toContain('Invoice INV-000001');
    expect(pdfText).toContain('Quayside Bakery Ltd');
    expect(pdfText).toMatch(/Total\s+£1,080\.00/);
    expect((await sandbox.run(['portal', 'invoice-pdf', '--org', org.id, '--invoice', invoice.id, '--out', invoicePdf])).code).toBe(2);

    // The uploaded (unsigned) file is not a signed document: exit 3, said plainly.
    const verified = await sandbox.run(['portal', 'verify', '--document', document.id, '--file', out]);
    expect(verified.code).toBe(3);
    expect(verified.stdout).toMatch(/Does NOT match/);
  });
});
