import type { Command } from 'commander';
import { ValidationError, type FieldProblem } from '../platform/errors.ts';
import { parseOrThrow } from '../platform/validation.ts';
import {
  createOrganisation,
  createOrganisationSchema,
  listAllOrganisations,
  ORGANISATION_KINDS,
} from '../platform/organisations/organisations.ts';
import {
  cancelOrganisation,
  getOrganisationSettings,
  organisationSettingsSchema,
  updateOrganisationSettings,
  type OrganisationSettings,
} from '../platform/organisations/settings.ts';
import { SYSTEM_ACTOR, systemMeta } from '../platform/tenancy/tenant-scope.ts';
import { inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

interface CreateOptions extends CommonOptions {
  kind: string;
  name: string;
  adminEmail: string;
  adminName?: string;
  parent?: string;
}

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('create, list, configure and cancel organisations (tenants)');

  withDataOption(
    org
      .command('create')
      .description('create an organisation with its own keys, audit trail and an invited first admin')
      .requiredOption('--kind <kind>', ORGANISATION_KINDS.join(' | '))
      .requiredOption('--name <name>', 'organisation name')
      .requiredOption('--admin-email <email>', 'email of the first admin, who is invited')
      .option('--admin-name <name>', "the first admin's display name")
      .option('--parent <id>', 'id of the trust a school belongs to')
      .option('--json', 'print one JSON object {"id","inviteUrl"}'),
  ).action(async (options: CreateOptions) => {
    const input = {
      kind: options.kind,
      name: options.name,
      adminEmail: options.adminEmail,
      adminName: options.adminName,
      parentId: options.parent,
    };
    // Checked before anything is opened, so bad input writes nothing, not even a data folder.
    const data = parseOrThrow(createOrganisationSchema, input);
    await withPlatform(options, async (platform) => {
      const created = await createOrganisation(platform, data, {
        actor: SYSTEM_ACTOR,
        meta: systemMeta('cli'),
      });
      if (options.json) return printJson({ id: created.id, inviteUrl: created.inviteUrl });
      print(`Created organisation ${created.id}`);
      printInvitation(platform.config.smtpUrl, created.inviteUrl);
    }, { sendsJobs: true });
  });

  withDataOption(
    org.command('list').description('list every organisation').option('--json', 'print a JSON array'),
  ).action(async (options: CommonOptions) => {
    await withPlatform(options, async (platform) => {
      const organisations = await listAllOrganisations(platform);
      if (options.json) return printJson(organisations);
      if (organisations.length === 0) return print('No organisations yet. Create one with: custos org create');
      for (const o of organisations) {
        const parent = o.parentId ? `  (part of ${o.parentId})` : '';
        print(`${o.id}  ${o.kind.padEnd(15)} ${o.status.padEnd(9)} ${o.name}${parent}`);
      }
    });
  });
  withDataOption(
    org
      .command('settings')
      .description("show an organisation's security settings, or change them with the options below")
      .requiredOption('--org <id>', 'organisation id')
      .option('--require-mfa <on|off>', 'require every user to use a second factor (always on for the operator)')
      .option('--password-mode <mode>', 'composition (default: 8+ with upper, lower, digit, symbol) | nist (12+, no composition rules)')
      .option('--json', 'print one JSON object {"requireMfa","passwordMode"}'),
  ).action(async (options: SettingsOptions) => {
    requireUuid('org', options.org, 'must be an organisation id');
    // Checked before anything is opened: bad input writes nothing.
    const change = parseSettingsOptions(options);
    const settings = await withPlatform(options, (platform) =>
      inOrganisation(platform, options.org, (scope) =>
        change ? updateOrganisationSettings(scope, change) : getOrganisationSettings(scope),
      ),
    );
    if (options.json) return printJson(settings);
    if (change) print(`Updated the settings of organisation ${options.org}:`);
    printSettings(settings);
  });

  withDataOption(
    org
      .command('cancel')
      .description('cancel an organisation: nobody can sign in, every session ends and every API token is revoked')
      .requiredOption('--org <id>', 'organisation id')
      .option('--json', 'print one JSON object {"id","status"}'),
  ).action(async (options: CommonOptions & { org: string }) => {
    requireUuid('org', options.org, 'must be an organisation id');
    await withPlatform(options, (platform) => cancelOrganisation(platform, options.org, systemMeta('cli')));
    if (options.json) return printJson({ id: options.org, status: 'cancelled' });
    print(`Organisation ${options.org} is cancelled: its users cannot sign in, their sessions have ended and its API tokens are revoked.`);
  });
}

interface SettingsOptions extends CommonOptions {
  org: string;
  requireMfa?: string;
  passwordMode?: string;
}

/** The changes asked for, or undefined when the command only shows the settings. */
function parseSettingsOptions(options: SettingsOptions): Partial<OrganisationSettings> | undefined {
  if (options.requireMfa === undefined && options.passwordMode === undefined) return undefined;
  const problems: FieldProblem[] = [];
  let requireMfa: boolean | undefined;
  if (options.requireMfa !== undefined) {
    const value = options.requireMfa.trim().toLowerCase();
    if (value === 'on') requireMfa = true;
    else if (value === 'off') requireMfa = false;
    else problems.push({ field: 'requireMfa', reason: 'must be on or off' });
  }
  const input = { requireMfa, passwordMode: options.passwordMode?.trim() };
  try {
    const parsed = parseOrThrow(organisationSettingsSchema, Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)));
    if (problems.length === 0) return parsed;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.push(...(error.errors ?? []));
  }
  throw new ValidationError(problems);
}

function printSettings(settings: OrganisationSettings): void {
  print(`  require MFA     ${settings.requireMfa ? 'on' : 'off'}`);
  print(`  password mode   ${settings.passwordMode}`);
}

/**
 * Without SMTP nobody would ever receive the link, so the operator gets it to pass on. With SMTP
 * the email is queued in the same transaction and a running server (custos serve) sends it.
 */
export function printInvitation(smtpUrl: string | undefined, inviteUrl: string): void {
  if (smtpUrl) {
    print('Invitation email queued; a running server (custos serve) sends it.');
  } else {
    print('No SMTP_URL is configured, so no email will be sent. Pass on this one-time invitation link (valid 72 hours):');
    print(`  ${inviteUrl}`);
  }
}
