/** Response shapes of the API routes the web app uses (see /api/docs for the full contract). */

export interface SessionInfo {
  user: { id: string; email: string; displayName: string | null; role: string };
  organisation: { id: string; name: string; kind: string };
  mfa: { required: boolean; enrolled: boolean; verified: boolean };
  permissions: string[];
}

export type SignInResult =
  | { outcome: 'signed-in'; mfa: 'not-required' | 'enrol' | 'challenge' }
  | { outcome: 'choose-organisation'; organisations: { id: string; name: string }[] };

export interface TotpEnrolment {
  secret: string;
  uri: string;
  qrSvg: string;
}

export interface User {
  id: string;
  email: string;
  displayName: string | null;
  role: string;
  status: string;
  createdAt: string;
}

export interface Role {
  name: string;
  label: string;
  description: string;
  permissions: string[];
}

export interface PermissionsInfo {
  organisationKind: string;
  permissions: { name: string; module: string; description: string }[];
  roles: Role[];
}

export type PasswordMode = 'composition' | 'nist';

export interface OrganisationSettings {
  requireMfa: boolean;
  passwordMode: PasswordMode;
}

export interface AuditEntry {
  seq: number;
  id: string;
  occurredAt: string;
  actorType: string;
  actorId: string | null;
  operatorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  changes: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface AuditChainReport {
  tenantId: string;
  entries: number;
  ok: boolean;
  problems: { seq: number; reason: string }[];
}

export const ORGANISATION_KIND_LABELS: Record<string, string> = {
  operator: 'Operator',
  school: 'School',
  trust: 'Trust',
  local_authority: 'Local authority',
  practice: 'Accountancy practice',
};
