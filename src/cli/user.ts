import type { Command } from 'commander';
import { inviteUser, inviteUserSchema, listUsers } from '../platform/identity/users.ts';
import { parseOrThrow } from '../platform/validation.ts';
import { enqueueMail } from '../platform/mail/mail.ts';
import { getOrganisation, invitationMail } from '../platform/organisations/organisations.ts';
import { printInvitation } from './org.ts';
import { inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

interface InviteOptions extends CommonOptions {
  org: string;
  email: string;
  name?: string;
  role?: string;
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description("manage an organisation's users");

  withDataOption(
    user
      .command('invite')
      .description('invite someone to an organisation; they set their own password through the link')
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--email <email>', 'their email address')
      .option('--name <name>', 'their display name')
      .option('--role <role>', 'admin | member', 'member')
      .option('--json', 'print one JSON object {"userId","inviteUrl","expiresAt"}'),
  ).action(async (options: InviteOptions) => {
    const input = parseOrThrow(inviteUserSchema, { email: options.email, displayName: options.name, role: options.role });
    requireUuid('org', options.org, 'must be an organisation id');
    await withPlatform(options, async (platform) => {
      // User, invitation, audit entry and queued email commit together or not at all.
      const invitation = await inOrganisation(platform, options.org, async (scope) => {
        const organisation = await getOrganisation(scope);
        const created = await inviteUser(scope, input, platform.config.publicUrl);
        await enqueueMail(platform.queue, scope, invitationMail(input.email, organisation.name, created.inviteUrl));
        return created;
      });
      if (options.json) return printJson(invitation);
      print(`Invited user ${invitation.userId} as ${input.role}`);
      printInvitation(platform.config.smtpUrl, invitation.inviteUrl);
    }, { sendsJobs: true });
  });

  withDataOption(
    user
      .command('list')
      .description("list an organisation's users (decrypts their emails and names)")
      .requiredOption('--org <id>', 'organisation id')
      .option('--json', 'print a JSON array'),
  ).action(async (options: CommonOptions & { org: string }) => {
    requireUuid('org', options.org, 'must be an organisation id');
    await withPlatform(options, async (platform) => {
      const users = await inOrganisation(platform, options.org, (scope) => listUsers(scope));
      if (options.json) return printJson(users);
      for (const u of users) print(`${u.id}  ${u.role.padEnd(7)} ${u.status.padEnd(8)} ${u.email}${u.displayName ? `  (${u.displayName})` : ''}`);
    });
  });
}
