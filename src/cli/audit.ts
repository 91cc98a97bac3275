import type { Command } from 'commander';
import { verifyAuditChain } from '../platform/audit/audit-verify.ts';
import { inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description("check an organisation's audit trail");

  withDataOption(
    audit
      .command('verify')
      .description('re-walk the hash chain; exit 0 when intact, 1 when an entry was edited, removed or reordered')
      .requiredOption('--org <id>', 'organisation id')
      .option('--json', 'print the report as one JSON object'),
  ).action(async (options: CommonOptions & { org: string }) => {
    requireUuid('org', options.org, 'must be an organisation id');
    const report = await withPlatform(options, (platform) =>
      // As the application role inside the tenant: the check sees exactly what the tenant's own reads see.
      inOrganisation(platform, options.org, (scope) => verifyAuditChain(scope.trx, options.org)),
    );
    if (options.json) {
      printJson(report);
    } else if (report.ok) {
      print(`Audit trail of ${report.tenantId} is intact: ${report.entries} entries verified.`);
    } else {
      print(`TAMPERING DETECTED in the audit trail of ${report.tenantId} (${report.entries} entries read):`);
      for (const problem of report.problems) print(`  seq ${problem.seq}: ${problem.reason}`);
    }
    if (!report.ok) process.exitCode = 1;
  });
}
