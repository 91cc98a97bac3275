import type { Command } from 'commander';
import { z } from 'zod';
import { NotFoundError } from '../platform/errors.ts';
import { PASSWORD_RESET_TTL_MINUTES, requestPasswordReset } from '../platform/identity/password-reset.ts';
import { revokeSessions } from '../platform/identity/sessions.ts';
import { findUserByEmail, inviteUser, inviteUserSchema, listUsers } from '../platform/identity/users.ts';
import { systemMeta } from '../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../platform/validation.ts';
import { enqueueMail } from '../platform/mail/mail.ts';
import { getOrganisation, invitationMail } from '../platform/organisations/organisations.ts';
import { printInvitation } from './org.ts';
import { CliError, configFrom, inOrganisation, print, printJson, requireUuid, withDataOption, withPlatform, type CommonOptions } from './runtime.ts';

interface InviteOptions extends CommonOptions {
  org: string;
  email: string;
  name?: string;
  role?: string;
}

interface PersonOptions extends CommonOptions {
  org: string;
  email: string;
}

const personSchema = z.object({ email: inviteUserSchema.shape.email });

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description("manage an organisation's users");

  withDataOption(
    user
      .command('invite')
      .description('invite someone to an organisation; they set their own password through the link')
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--email <email>', 'their email address')
      .option('--name <name>', 'their display name')
      .option('--role <role>', 'admin | member; a practice also has staff | client', 'member')
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

  withDataOption(
    user
      .command('reset-password')
      .description(`email someone a link to choose a new password (valid ${PASSWORD_RESET_TTL_MINUTES} minutes); the link is never printed`)
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--email <email>', 'their email address')
      .option('--json', 'print one JSON object {"userId","queued"}'),
  ).action(async (options: PersonOptions) => {
    const { email } = parseOrThrow(personSchema, { email: options.email });
    requireUuid('org', options.org, 'must be an organisation id');
    // The link goes only to the person's own inbox: printing it would let whoever runs this
    // command take over the account. So without mail there is nothing to do.
    if (!configFrom(options).smtpUrl) {
      throw new CliError('no SMTP_URL is configured, so the reset email cannot be sent (the link is never printed); set SMTP_URL and run this again', 2);
    }
    await withPlatform(options, async (platform) => {
      const found = await inOrganisation(platform, options.org, (scope) => findUserByEmail(scope, email));
      if (!found) throw new NotFoundError(`user with that email in organisation ${options.org}`);
      if (found.status !== 'active') {
        throw new CliError(
          found.status === 'invited'
            ? 'this user has not accepted their invitation yet: invite them again with custos user invite'
            : 'this user is disabled',
        );
      }
      // As the sign-in page does: one link per organisation the email belongs to, each by email.
      await requestPasswordReset(platform, { email }, systemMeta('cli'));
      if (options.json) return printJson({ userId: found.id, queued: true });
      print(`Password-reset email queued for user ${found.id}; a running server (custos serve) sends it.`);
    }, { sendsJobs: true });
  });

  const sessions = user.command('sessions').description("a user's sessions (signed-in browsers)");
  withDataOption(
    sessions
      .command('revoke')
      .description('sign someone out everywhere: every session of theirs ends at once')
      .requiredOption('--org <id>', 'organisation id')
      .requiredOption('--email <email>', 'their email address')
      .option('--json', 'print one JSON object {"userId","revoked"}'),
  ).action(async (options: PersonOptions) => {
    const { email } = parseOrThrow(personSchema, { email: options.email });
    requireUuid('org', options.org, 'must be an organisation id');
    await withPlatform(options, async (platform) => {
      const result = await inOrganisation(platform, options.org, async (scope) => {
        const found = await findUserByEmail(scope, email);
        if (!found) throw new NotFoundError(`user with that email in organisation ${options.org}`);
        return { userId: found.id, revoked: await revokeSessions(scope, 'signed out everywhere', found.id) };
      });
      if (options.json) return printJson(result);
      print(`Ended ${result.revoked} session(s) of user ${result.userId}.`);
    });
  });
}
