import type { FlowKind, FlowStatus, PortalClient, PortalClientUser } from '../../api/portal.ts';

/** Words for the client portal's codes, as both the practice and its clients read them. */

export const STATUS_LABELS: Record<FlowStatus, string> = {
  pending: 'Waiting',
  approved: 'Approved',
  rejected: 'Rejected',
  signed: 'Signed',
  declined: 'Declined',
  expired: 'Expired',
  cancelled: 'Withdrawn',
};

/** The tag colour of each status: done well, needs attention, or neutral. */
export const STATUS_TONES: Record<FlowStatus, 'active' | 'invited' | 'disabled'> = {
  pending: 'invited',
  approved: 'active',
  signed: 'active',
  rejected: 'disabled',
  declined: 'disabled',
  expired: 'disabled',
  cancelled: 'disabled',
};

export const KIND_LABELS: Record<FlowKind, string> = { approval: 'Approval', signature: 'Signature' };

/** What the recipient is asked to do, for "… to approve" / "… to sign". */
export const KIND_VERBS: Record<FlowKind, string> = { approval: 'approve', signature: 'sign' };

export const CLIENT_KIND_LABELS: Record<PortalClient['kind'], string> = { individual: 'Individual', company: 'Company' };

/** The events of a flow's timeline (the server records these names). */
export const EVENT_LABELS: Record<string, string> = {
  sent_for_signature: 'Sent for signature',
  sent_for_approval: 'Sent for approval',
  viewed: 'Opened',
  signed: 'Signed',
  approved: 'Approved',
  rejected: 'Rejected',
  declined: 'Declined to sign',
  reminded: 'Reminder sent',
  cancelled: 'Withdrawn by the practice',
  expired: 'Expired',
};

export const USER_STATUS_LABELS: Record<string, string> = { active: 'Active', invited: 'Invited', disabled: 'Disabled' };

export function clientUserName(user: Pick<PortalClientUser, 'displayName' | 'email'>): string {
  return user.displayName ? `${user.displayName} (${user.email})` : user.email;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.max(1, Math.ceil(bytes / 1024))} KB`;
}

/** The end of a chosen day (YYYY-MM-DD) where the reader is, as the API wants it (ISO 8601). */
export function endOfDay(date: string): string {
  return new Date(`${date}T23:59:59`).toISOString();
}

/** Tomorrow as YYYY-MM-DD, the earliest a response can be asked for. */
export function tomorrow(): string {
  const next = new Date(Date.now() + 86_400_000);
  return `${next.getFullYear()}-${String(next.getMonth() + 1).padStart(2, '0')}-${String(next.getDate()).padStart(2, '0')}`;
}
