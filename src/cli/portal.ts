import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ValidationError, type FieldProblem } from '../platform/errors.ts';
import { isUuid } from '../platform/tenancy/tenant-scope.ts';
import { createClient, listClients, type Client, type ClientInput } from '../products/client-portal/clients.ts';
import { openDocumentVersion, recordUpload } from '../products/client-portal/documents/documents.ts';
import { scanHookFromSetting } from '../products/client-portal/documents/intake/index.ts';
import { storeUpload } from '../products/client-portal/documents/upload.ts';
import { verifySignedFile } from '../products/client-portal/flows/evidence.ts';
import { invoiceExportRows } from '../products/client-portal/invoices/export.ts';
import { loadInvoicePdfInput, renderInvoicePdf } from '../products/client-portal/invoices/invoice-pdf.ts';
import { createInvoice, type CreateInvoiceInput } from '../products/client-portal/invoices/invoices.ts';
import { writeInvoicesWorkbook } from '../products/client-portal/payments/excel.ts';
import { addToBalance, practiceBalance } from '../products/client-portal/practice.ts';
import { purgeClosedPractices } from '../products/client-portal/retention.ts';
import { inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

interface OrgOptions extends CommonOptions {
  org: string;
  json?: boolean;
}

/** Content types by extension, for files uploaded from disk (the intake checks the content itself). */
const TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  csv: 'text/csv',
  txt: 'text/plain',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/**
 * `custos portal …`: the client portal from the command line, for practices' administrators and
 * the operator. Exit codes: 0 done; 2 bad options or input (nothing written); 1 anything else.
 */
export function registerPortalCommands(program: Command): void {
  const portal = program.command('portal').description('the client portal: clients, documents, credits, invoices, verification, retention');

  withDataOption(
    portal
      .command('clients')
      .description("list a practice's clients")
      .requiredOption('--org <id>', "the practice's organisation id")
      .option('--search <text>', 'an exact name, reference or company number')
      .option('--json', 'print a JSON array'),
  ).action(async (options: OrgOptions & { search?: string }) => {
    const { items } = await withPlatform(options, (platform) => inOrganisation(platform, options.org, (scope) => listClients(scope, { search: options.search, limit: 200 })));
    if (options.json) return printJson(items);
    if (items.length === 0) return print('No clients yet. Add one with: custos portal add-client');
    for (const c of items) print(clientLine(c));
  });

  withDataOption(
    portal
      .command('add-client')
      .description('add a client (a person or a company) to a practice')
      .requiredOption('--org <id>', "the practice's organisation id")
      .requiredOption('--kind <kind>', 'individual | company')
      .requiredOption('--name <name>', "the client's name")
      .option('--company-number <number>', 'Companies House number (companies)')
      .option('--reference <ref>', "the practice's own reference")
      .option('--email <email>', "the client's email address")
      .option('--mtd', 'in scope for Making Tax Digital for Income Tax (individuals)')
      .option('--json', 'print the client as JSON'),
  ).action(async (options: OrgOptions & { kind: string; name: string; companyNumber?: string; reference?: string; email?: string; mtd?: boolean }) => {
    const input: ClientInput = {
      kind: options.kind as ClientInput['kind'],
      name: options.name,
      companyNumber: options.companyNumber,
      reference: options.reference,
      email: options.email,
      mtdItsa: options.mtd ?? false,
    };
    const client = await withPlatform(options, (platform) => inOrganisation(platform, options.org, (scope) => createClient(scope, input)));
    if (options.json) return printJson(client);
    print(`Added ${clientLine(client)}`);
  });

  withDataOption(
    portal
      .command('upload')
      .description("upload a file into a client's area (checked, scanned when a scanner is set, encrypted)")
      .requiredOption('--org <id>', "the practice's organisation id")
      .requiredOption('--client <id>', 'the client id')
      .requiredOption('--file <path>', 'the file to upload')
      .option('--title <title>', 'the document title (default: the file name)')
      .option('--json', 'print the document and version as JSON'),
  ).action(async (options: OrgOptions & { client: string; file: string; title?: string }) => {
    const problems: FieldProblem[] = [];
    if (!isUuid(options.org)) problems.push({ field: 'org', reason: 'must be an organisation id' });
    if (!isUuid(options.client)) problems.push({ field: 'client', reason: 'must be a client id' });
    if (!isFile(options.file)) problems.push({ field: 'file', reason: 'no such file' });
    if (problems.length) throw new ValidationError(problems);
    const filename = options.file.split('/').pop()!;
    const declaredType = TYPES[filename.split('.').pop()!.toLowerCase()];
    const recorded = await withPlatform(options, async (platform) => {
      const cipher = await inOrganisation(platform, options.org, async (scope) => scope.cipher);
      const stored = await storeUpload(platform.blobs, cipher, scanHookFromSetting(platform.config.clamavSocket), fs.createReadStream(options.file), { declaredType, filename });
      try {
        return await inOrganisation(platform, options.org, (scope) => recordUpload(scope, stored, { clientId: options.client, title: options.title }));
      } catch (error) {
        platform.blobs.remove(stored.blob.tenantId, stored.blob.id);
        throw error;
      }
    });
    if (options.json) return printJson(recorded);
    print(`Uploaded ${recorded.document.title} as document ${recorded.document.id}, version ${recorded.version.version} (${recorded.version.contentType}, ${recorded.version.sizeBytes} bytes, ${recorded.version.scan === 'clean' ? 'scanned clean' : 'not scanned'}).`);
  });

  withDataOption(
    portal
      .command('download')
      .description('write a document (the latest version unless --version) to a file')
      .requiredOption('--org <id>', "the practice's organisation id")
      .requiredOption('--document <id>', 'the document id')
      .requiredOption('--out <path>', 'where to write it (must not exist)')
      .option('--version <n>', 'which version'),
  ).action(async (options: OrgOptions & { document: string; out: string; version?: string }) => {
    requireUuid('document', options.document, 'must be a document id');
    const version = options.version === undefined ? undefined : Number(options.version);
    if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new ValidationError([{ field: 'version', reason: 'must be a whole number from 1' }]);
    if (fs.existsSync(options.out)) throw new ValidationError([{ field: 'out', reason: 'already exists; choose a new file name' }]);
    await withPlatform(options, async (platform) => {
      const opened = await inOrganisation(platform, options.org, (scope) => openDocumentVersion(platform.blobs, scope, options.document, version));
      await pipeline(opened.content, fs.createWriteStream(options.out, { flags: 'wx', mode: 0o600 }));
      print(`Wrote ${opened.version.filename} (version ${opened.version.version}, sha256 ${opened.version.sha256}) to ${options.out}.`);
    });
  });

  withDataOption(
    portal
      .command('add-credits')
      .description('add signing credits or storage to a practice (operator: e.g. a purchase made by invoice)')
      .requiredOption('--org <id>', "the practice's organisation id")
      .option('--signing <n>', 'signing credits to add')
      .option('--storage-gb <n>', 'storage to add, in GB')
      .requiredOption('--reason <text>', 'why, for the ledger and audit trail')
      .option('--json', 'print the new balance as JSON'),
  ).action(async (options: OrgOptions & { signing?: string; storageGb?: string; reason: string }) => {
    const signing = options.signing === undefined ? 0 : Number(options.signing);
    const storageGb = options.storageGb === undefined ? 0 : Number(options.storageGb);
    const problems: FieldProblem[] = [];
    if (!Number.isInteger(signing) || signing < 0 || signing > 100_000) problems.push({ field: 'signing', reason: 'must be a whole number from 0 to 100000' });
    if (!Number.isInteger(storageGb) || storageGb < 0 || storageGb > 10_000) problems.push({ field: 'storage-gb', reason: 'must be a whole number of GB from 0 to 10000' });
    if (problems.length === 0 && signing === 0 && storageGb === 0) problems.push({ field: 'signing', reason: 'give --signing or --storage-gb' });
    if (!options.reason.trim()) problems.push({ field: 'reason', reason: 'must not be empty' });
    if (problems.length) throw new ValidationError(problems);
    const balance = await withPlatform(options, (platform) =>
      inOrganisation(platform, options.org, async (scope) => {
        if (signing > 0) await addToBalance(scope, { kind: 'signing', amount: signing, reason: options.reason, by: 'cli' });
        if (storageGb > 0) await addToBalance(scope, { kind: 'storage', amount: storageGb * 1024 ** 3, reason: options.reason, by: 'cli' });
        return practiceBalance(scope);
      }),
    );
    if (options.json) return printJson(balance);
    print(`Signing credits: ${balance.signingCredits}. Storage: ${(balance.storageUsedBytes / 1024 ** 3).toFixed(2)} of ${(balance.storageQuotaBytes / 1024 ** 3).toFixed(2)} GB used.`);
  });

  withDataOption(
    portal
      .command('verify')
      .description('check a file is exactly a document the portal signed')
      .requiredOption('--document <id>', 'the document id (printed on its audit certificate)')
      .requiredOption('--file <path>', 'the file to check')
      .option('--json', 'print the answer as JSON'),
  ).action(async (options: CommonOptions & { document: string; file: string; json?: boolean }) => {
    if (!isFile(options.file)) throw new ValidationError([{ field: 'file', reason: 'no such file' }]);
    const answer = await withPlatform(options, (platform) => verifySignedFile(platform.db.app, options.document, fs.createReadStream(options.file)));
    if (options.json) printJson(answer);
    else if (answer.matches) print(`Matches: signed through ${answer.practiceName} on ${answer.signedAt} (sha256 ${answer.sha256}).`);
    else print(`Does NOT match any signed version of document ${options.document} (sha256 ${answer.sha256}).`);
    if (!answer.matches) process.exitCode = 3;
  });

  withDataOption(
    portal
      .command('export-invoices')
      .description("write a practice's invoices to an Excel workbook, with totals")
      .requiredOption('--org <id>', "the practice's organisation id")
      .requiredOption('--out <path>', 'the .xlsx file to write (must not exist)')
      .option('--status <status>', 'outstanding | paid | void'),
  ).action(async (options: OrgOptions & { out: string; status?: string }) => {
    if (fs.existsSync(options.out)) throw new ValidationError([{ field: 'out', reason: 'already exists; choose a new file name' }]);
    if (options.status !== undefined && !['outstanding', 'paid', 'void'].includes(options.status)) {
      throw new ValidationError([{ field: 'status', reason: 'must be one of outstanding, paid, void' }]);
    }
    const status = options.status as 'outstanding' | 'paid' | 'void' | undefined;
    const rows = await withPlatform(options, (platform) => inOrganisation(platform, options.org, (scope) => invoiceExportRows(scope, status ? { status } : {})));
    const totals = await writeInvoicesWorkbook(rows, fs.createWriteStream(options.out, { flags: 'wx', mode: 0o600 }));
    print(`Wrote ${totals.rowCount} invoices to ${options.out} (gross £${(totals.grossPence / 100).toFixed(2)}).`);
  });

  withDataOption(
    portal
      .command('raise-invoice')
      .description("raise an invoice to one of the practice's clients (its users are emailed)")
      .requiredOption('--org <id>', "the practice's organisation id")
      .requiredOption('--client <id>', 'the client to invoice')
      .requiredOption('--due <date>', 'the due date, YYYY-MM-DD')
      .requiredOption('--lines <file>', 'a JSON file: [{"description", "quantity", "unitPricePence", "vatRate": standard|reduced|zero|exempt|outside-scope}]')
      .option('--issued <date>', 'the issue date, YYYY-MM-DD (default today)')
      .option('--number <number>', 'the invoice number (default: the next INV-000123)')
      .option('--json', 'print the invoice as JSON'),
  ).action(async (options: OrgOptions & { client: string; due: string; lines: string; issued?: string; number?: string }) => {
    requireUuid('client', options.client, 'must be a client id');
    let lines: unknown;
    try {
      lines = JSON.parse(fs.readFileSync(options.lines, 'utf8'));
    } catch (error) {
      const missing = (error as { code?: string }).code === 'ENOENT';
      throw new ValidationError([{ field: 'lines', reason: missing ? 'file was not found' : 'must be a JSON file holding an array of lines' }]);
    }
    const input = { clientId: options.client, dueOn: options.due, lines, ...(options.issued ? { issuedOn: options.issued } : {}), ...(options.number ? { number: options.number } : {}) };
    const invoice = await withPlatform(
      options,
      (platform) => inOrganisation(platform, options.org, (scope) => createInvoice(platform.queue, scope, input as CreateInvoiceInput, platform.config.publicUrl)),
      { sendsJobs: true },
    );
    if (options.json) return printJson(invoice);
    print(`Raised ${invoice.number}: £${(invoice.grossPence / 100).toFixed(2)} (VAT £${(invoice.vatPence / 100).toFixed(2)}), due ${invoice.dueOn}. Id ${invoice.id}.`);
  });

  withDataOption(
    portal
      .command('invoice-pdf')
      .description('write an invoice as a PDF (once paid, it is the receipt too)')
      .requiredOption('--org <id>', "the practice's organisation id")
      .requiredOption('--invoice <id>', 'the invoice')
      .requiredOption('--out <path>', 'the .pdf file to write (must not exist)'),
  ).action(async (options: OrgOptions & { invoice: string; out: string }) => {
    requireUuid('invoice', options.invoice, 'must be an invoice id');
    if (fs.existsSync(options.out)) throw new ValidationError([{ field: 'out', reason: 'already exists; choose a new file name' }]);
    const input = await withPlatform(options, (platform) => inOrganisation(platform, options.org, (scope) => loadInvoicePdfInput(scope, options.invoice)));
    fs.writeFileSync(options.out, await renderInvoicePdf(input), { flag: 'wx', mode: 0o600 });
    print(`Wrote invoice ${input.invoice.number} (${input.invoice.status}) to ${options.out}.`);
  });

  withDataOption(
    portal.command('purge-closed').description(`delete the portal data of practices closed more than 90 days ago (the daily retention job, now)`).option('--json', 'print what was purged'),
  ).action(async (options: CommonOptions & { json?: boolean }) => {
    const reports = await withPlatform(options, (platform) => purgeClosedPractices(platform), { sendsJobs: true });
    if (options.json) return printJson(reports);
    if (reports.length === 0) return print('Nothing to purge.');
    for (const r of reports) print(`Purged practice ${r.practiceId}: ${r.clients} clients, ${r.files} files.`);
  });
}

function clientLine(c: Client): string {
  const extra = [c.reference && `ref ${c.reference}`, c.companyNumber && `company ${c.companyNumber}`, c.mtdItsa && 'MTD'].filter(Boolean).join(', ');
  return `${c.id}  ${c.kind.padEnd(10)}  ${c.name}${extra ? `  (${extra})` : ''}`;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
