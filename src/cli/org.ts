import type { Command } from 'commander';
import { parseOrThrow } from '../platform/validation.ts';
import {
  createOrganisation,
  createOrganisationSchema,
  listAllOrganisations,
  ORGANISATION_KINDS,
} from '../platform/organisations/organisations.ts';
import { SYSTEM_ACTOR, systemMeta } from '../platform/tenancy/tenant-scope.ts';
import { print, printJson, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

interface CreateOptions extends CommonOptions {
  kind: string;
  name: string;
  adminEmail: string;
  adminName?: string;
  parent?: string;
}

export function registerOrgCommands(program: Command): void {
  const org = program.command('org').description('create and list organisations (tenants)');

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
