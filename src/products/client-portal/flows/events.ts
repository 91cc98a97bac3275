import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import type { SigningEvent } from '../signing/index.ts';

/**
 * The timeline of a flow: who did what, when, from which address and browser. It becomes the
 * audit certificate of a signature, so it is kept per flow (sealed: names, addresses and user
 * agents are personal data) rather than only in the practice's audit trail.
 */
export async function recordFlowEvent(scope: TenantScope, flow: { id: string; clientId: string }, event: string, who: string): Promise<void> {
  await scope.trx
    .insertInto('portal_flow_events')
    .values({
      tenant_id: scope.tenantId,
      client_id: flow.clientId,
      flow_id: flow.id,
      event,
      actor_enc: scope.cipher.seal('portal.flow_event.actor', who),
      ip_enc: scope.cipher.sealOptional('portal.flow_event.ip', scope.meta.ip ?? null),
      user_agent_enc: scope.cipher.sealOptional('portal.flow_event.user_agent', scope.meta.userAgent ?? null),
    })
    .execute();
}

export interface FlowEvent {
  event: string;
  at: string;
  who: string;
  ipAddress: string | null;
  userAgent: string | null;
}

export async function flowTimeline(scope: TenantScope, flowId: string): Promise<FlowEvent[]> {
  const rows = await scope.trx
    .selectFrom('portal_flow_events')
    .select(['event', 'at', 'actor_enc', 'ip_enc', 'user_agent_enc'])
    .where('flow_id', '=', flowId)
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    event: r.event,
    at: new Date(r.at).toISOString(),
    who: scope.cipher.open('portal.flow_event.actor', r.actor_enc),
    ipAddress: scope.cipher.openOptional('portal.flow_event.ip', r.ip_enc),
    userAgent: scope.cipher.openOptional('portal.flow_event.user_agent', r.user_agent_enc),
  }));
}

const EVENT_WORDS: Record<string, string> = {
  sent_for_signature: 'Sent for signature',
  sent_for_approval: 'Sent for approval',
  viewed: 'Opened by the signer',
  signed: 'Signed',
  approved: 'Approved',
  rejected: 'Rejected',
  declined: 'Declined',
  reminded: 'Reminder sent',
  cancelled: 'Cancelled by the practice',
  expired: 'Expired',
};

/** The timeline as the audit certificate draws it. */
export function asSigningEvents(events: FlowEvent[]): SigningEvent[] {
  return events.map((e) => ({
    what: EVENT_WORDS[e.event] ?? e.event,
    at: new Date(e.at),
    who: e.who,
    ipAddress: e.ipAddress,
    userAgent: e.userAgent,
  }));
}

/** "Pat Example <pat@example.test>" for the acting user, or what the actor is. */
export async function describeActor(scope: TenantScope): Promise<string> {
  if (scope.actor.type !== 'user' || !scope.actor.id) return scope.actor.type === 'api_token' ? 'the practice (API)' : 'the practice';
  const user = await scope.trx.selectFrom('users').select(['email_enc', 'display_name_enc']).where('id', '=', scope.actor.id).executeTakeFirst();
  if (!user) return 'a former user';
  const email = scope.cipher.open('users.email', user.email_enc);
  const name = scope.cipher.openOptional('users.display_name', user.display_name_enc);
  return name ? `${name} <${email}>` : email;
}
