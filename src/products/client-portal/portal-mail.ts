import type { JobQueue } from '../../platform/jobs/queue.ts';
import { enqueueMail } from '../../platform/mail/mail.ts';
import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';

/** A message for a client's users: the same subject and text to each. */
export interface ClientMail {
  subject: string;
  text: string;
}

/**
 * The users of each client who may still be written to (not disabled), with their addresses
 * opened, in the order they were added. Clients with nobody are absent from the map.
 */
export async function clientUserAddresses(scope: TenantScope, clientIds: string[]): Promise<Map<string, { userId: string; email: string }[]>> {
  const byClient = new Map<string, { userId: string; email: string }[]>();
  if (clientIds.length === 0) return byClient;
  const rows = await scope.trx
    .selectFrom('portal_client_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.client_id', 'm.user_id', 'u.email_enc'])
    .where('m.client_id', 'in', [...new Set(clientIds)])
    .where('u.status', '<>', 'disabled')
    .orderBy('m.added_at')
    .execute();
  for (const row of rows) {
    const list = byClient.get(row.client_id) ?? [];
    list.push({ userId: row.user_id, email: scope.cipher.open('users.email', row.email_enc) });
    byClient.set(row.client_id, list);
  }
  return byClient;
}

/**
 * Queues one email per address, in the caller's transaction (the message is sealed in the queue,
 * and goes only if the change it tells of commits). A recipient never sees who else was sent it.
 * Returns how many were queued.
 */
export async function mailAddresses(queue: JobQueue, scope: TenantScope, to: string[], mail: ClientMail): Promise<number> {
  for (const address of to) await enqueueMail(queue, scope, { to: address, subject: mail.subject, text: mail.text });
  return to.length;
}

/** Emails every user of one client who may still be written to; returns how many were queued. */
export async function mailClientUsers(queue: JobQueue, scope: TenantScope, clientId: string, mail: ClientMail): Promise<number> {
  const recipients = (await clientUserAddresses(scope, [clientId])).get(clientId) ?? [];
  return mailAddresses(queue, scope, recipients.map((r) => r.email), mail);
}
