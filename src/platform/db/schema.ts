import type { ColumnType, Generated } from 'kysely';

/** Row types as the database holds them. Repositories map these to domain shapes; they stay here. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type OrganisationKind = 'operator' | 'school' | 'trust' | 'local_authority' | 'practice';

export interface OrganisationsTable {
  id: Generated<string>;
  kind: OrganisationKind;
  name: string;
  parent_id: string | null;
  status: Generated<'active' | 'cancelled'>;
  cancelled_at: Date | null;
  require_mfa: Generated<boolean>;
  password_mode: Generated<'composition' | 'nist'>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface TenantKeysTable {
  tenant_id: string;
  purpose: 'data' | 'index';
  version: number;
  wrapped: string;
  master_key_id: string;
  created_at: Generated<Date>;
}

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string;
  email_enc: string;
  email_bidx: string;
  display_name_enc: string | null;
  role: Generated<string>;
  status: Generated<'invited' | 'active' | 'disabled'>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  email_lookup: string | null;
  password_hash: string | null;
  password_changed_at: Date | null;
  totp_secret_enc: string | null;
  totp_enrolled_at: Date | null;
  totp_last_step: number | null;
}

export interface InvitationsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  token_hash: string;
  expires_at: Timestamp;
  accepted_at: Date | null;
  created_at: Generated<Date>;
}

export interface ApiTokensTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  token_hash: string;
  token_prefix: string;
  scopes: string[];
  issued_by: string;
  created_at: Generated<Date>;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface AuditEventsTable {
  tenant_id: string;
  seq: number;
  id: Generated<string>;
  occurred_at: Timestamp;
  actor_type: 'user' | 'api_token' | 'operator' | 'system';
  actor_id: string | null;
  operator_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  changes: ColumnType<Record<string, unknown>, string, string>;
  ip_enc: string | null;
  user_agent_enc: string | null;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  tenant_id: string;
  seq: number;
  hash: string;
}

export interface BlobsTable {
  id: string;
  tenant_id: string;
  purpose: string;
  size_bytes: number;
  sha256: string;
  key_version: number;
  created_at: Generated<Date>;
}

export interface PlatformSecretsTable {
  name: string;
  wrapped: string;
  master_key_id: string;
  created_at: Generated<Date>;
}

export interface RecoveryCodesTable {
  tenant_id: string;
  user_id: string;
  code_hash: string;
  used_at: Date | null;
}

export interface SessionsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  token_hash: string;
  csrf_hash: string;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  mfa_verified_at: Date | null;
  ip_enc: string | null;
  user_agent_enc: string | null;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export interface PasswordResetsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  token_hash: string;
  expires_at: Timestamp;
  used_at: Date | null;
  created_at: Generated<Date>;
}

export interface KnownDevicesTable {
  tenant_id: string;
  user_id: string;
  device_hash: string;
  first_seen_at: Generated<Date>;
  last_seen_at: Generated<Date>;
}

export interface DB {
  platform_secrets: PlatformSecretsTable;
  recovery_codes: RecoveryCodesTable;
  sessions: SessionsTable;
  password_resets: PasswordResetsTable;
  known_devices: KnownDevicesTable;
  blobs: BlobsTable;
  organisations: OrganisationsTable;
  tenant_keys: TenantKeysTable;
  users: UsersTable;
  invitations: InvitationsTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  audit_heads: AuditHeadsTable;
}
