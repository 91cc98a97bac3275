import type { Command } from 'commander';
import { createApiToken, createApiTokenSchema, listApiTokens, revokeApiToken } from '../platform/identity/api-tokens.ts';
import { parseOrThrow } from '../platform/validation.ts';
import { inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

interface CreateOptions extends CommonOptions {
  org: string;
  name: string;
  scopes: string;
  expiresDays?: string;
}

/** Who issued a token, as stored with it: operator tokens come from this command line. */
const ISSUED_BY = 'cli';

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('operator-issued API tokens (Authorization: Bearer cst_…)');

  withDataOption(
    token
      .command('create')
      .description('issue an API token for one organisation; it is shown once and stored only as a hash')
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--name <name>', 'what the token is for')
      .option('--scopes <list>', 'comma-separated: read, admin', 'read')
      .option('--expires-days <n>', 'expire after this many days (default: never)')
      .option('--json', 'print one JSON object {"id","token",…}'),
  ).action(async (options: CreateOptions) => {
    const input = parseOrThrow(createApiTokenSchema, {
      name: options.name,
      scopes: options.scopes.split(',').map((s) => s.trim()).filter(Boolean),
      // Left as text when it is not a number, so the schema names the flag in its error.
      expiresInDays: options.expiresDays === undefined ? undefined : toNumberOrText(options.expiresDays),
    });
    requireUuid('org', options.org, 'must be an organisation id');
    await withPlatform(options, async (platform) => {
      const { token: secret, info } = await inOrganisation(platform, options.org, (scope) => createApiToken(scope, input, ISSUED_BY));
      if (options.json) {
        return printJson({ id: info.id, token: secret, name: info.name, scopes: info.scopes, expiresAt: info.expiresAt });
      }
      print(`API token ${info.id} (${info.scopes.join(', ')}; expires ${info.expiresAt ?? 'never'}).`);
      print('It is shown only now; store it somewhere safe:');
      print(`  ${secret}`);
    });
  });

  withDataOption(
    token
      .command('list')
      .description("list an organisation's API tokens (never the tokens themselves)")
      .requiredOption('--org <id>', 'organisation id')
      .option('--json', 'print a JSON array'),
  ).action(async (options: CommonOptions & { org: string }) => {
    requireUuid('org', options.org, 'must be an organisation id');
    await withPlatform(options, async (platform) => {
      const tokens = await inOrganisation(platform, options.org, (scope) => listApiTokens(scope));
      if (options.json) return printJson(tokens);
      if (tokens.length === 0) return print('No API tokens.');
      for (const t of tokens) {
        const state = t.revokedAt ? `revoked ${t.revokedAt}` : `expires ${t.expiresAt ?? 'never'}`;
        print(`${t.id}  ${t.prefix}…  ${t.scopes.join(',').padEnd(10)} ${state}  last used ${t.lastUsedAt ?? 'never'}  ${t.name}`);
      }
    });
  });

  withDataOption(
    token
      .command('revoke')
      .description('revoke an API token at once')
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--id <tokenId>', 'token id (from token list)'),
  ).action(async (options: CommonOptions & { org: string; id: string }) => {
    requireUuid('org', options.org, 'must be an organisation id');
    requireUuid('id', options.id, 'must be a token id');
    await withPlatform(options, async (platform) => {
      await inOrganisation(platform, options.org, (scope) => revokeApiToken(scope, options.id));
      print(`Revoked API token ${options.id}`);
    });
  });
}

function toNumberOrText(value: string): number | string {
  return /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
}
