import type { Command } from 'commander';
import { loadDemoData, type DemoLoadResult } from '../demo/demo-data.ts';
import { print, printJson, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

export function registerDemoCommand(program: Command): void {
  withDataOption(
    program
      .command('demo')
      .description('load generated demo organisations of every kind (fake names, reserved domains); safe to run twice')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (options: CommonOptions) => {
    await withPlatform(options, async (platform) => {
      const result = await loadDemoData(platform);
      if (options.json) return printJson(result);
      if (result.created.length === 0) {
        print(`The demo data is already loaded (${result.alreadyPresent.length} organisations); nothing was changed.`);
        print('Its passwords and tokens were shown when it was made. Issue a new token with: custos token create --org ID --name NAME --scopes read,admin');
        return;
      }
      printSignInDetails(result, platform.config.publicUrl);
    }, { sendsJobs: true });
  });
}

/**
 * Passwords and tokens exist in clear only at this moment (the database keeps hashes), so this is
 * the one chance to show them.
 */
export function printSignInDetails(result: DemoLoadResult, baseUrl: string): void {
  print('');
  print('Demo organisations — these sign-in details are shown once; only their hashes are stored.');
  for (const o of result.created) {
    print('');
    print(`  ${o.name}  [${o.kind}]`);
    print(`    organisation id   ${o.id}`);
    if (o.parentId) print(`    part of trust     ${o.parentId}`);
    print(`    sign-in page      ${baseUrl}/sign-in`);
    print(`    admin email       ${o.adminEmail}`);
    print(`    admin password    ${o.adminPassword}`);
    print(`    admin API token   ${o.token}`);
  }
  if (result.created.length > 0) {
    print('');
    print('Schools, trusts, local authorities and the operator require MFA: their admins enrol an');
    print('authenticator app at first sign-in. The accountancy practice does not require MFA.');
  }
  const example = result.created[0];
  if (example) {
    print('');
    print('Try the API with one of the tokens:');
    print(`  curl -H "Authorization: Bearer ${example.token}" ${baseUrl}/api/v1/organisation`);
  }
  if (result.alreadyPresent.length > 0) {
    print(`(${result.alreadyPresent.length} demo organisation(s) from an earlier run were left as they were.)`);
  }
  print('');
}
