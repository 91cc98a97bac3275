import type { ColumnType, Generated } from 'kysely';
import type { PortalTables } from './schema-portal.ts';

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

/** The sync hub's tables (migration 0006). */
export interface SchoolProfilesTable {
  tenant_id: string;
  name: string;
  urn: string | null;
  la_estab: string | null;
  phase: string | null;
  updated_at: Generated<Date>;
}

export interface SyncStateTable {
  tenant_id: string;
  sharing_paused: Generated<boolean>;
  fresh_as_of: Generated<Record<string, string>>;
  updated_at: Generated<Date>;
}

export interface SyncConnectionsTable {
  id: Generated<string>;
  tenant_id: string;
  kind: 'ctf' | 'oneroster-csv' | 'oneroster-rest' | 'wonde' | 'csv';
  name: string;
  settings_enc: string | null;
  schedule: string | null;
  created_at: Generated<Date>;
  disabled_at: Date | null;
}

export interface SyncRunsTable {
  id: Generated<string>;
  tenant_id: string;
  connection_id: string | null;
  source: string;
  format: string;
  mode: 'full' | 'delta';
  dry_run: Generated<boolean>;
  status: 'running' | 'succeeded' | 'failed';
  started_by: string;
  started_at: Generated<Date>;
  finished_at: Date | null;
  counts: Generated<unknown>;
  warnings: Generated<unknown>;
  errors: Generated<unknown>;
  /** {entity, done, total, at} while running; see migration 0010. */
  progress: unknown | null;
}

export interface SyncRunChangesTable {
  tenant_id: string;
  run_id: string;
  entity: string;
  record_id: string;
  change: 'created' | 'updated' | 'left';
  fields: Generated<string[]>;
}

/** pupils, contacts and staff share this shape; pupils and staff add their own columns. */
interface PersonRecordColumns {
  id: Generated<string>;
  tenant_id: string;
  source: string;
  mis_id: string;
  data_enc: string;
  content_hash: string;
  forename_bidx: string | null;
  surname_bidx: string | null;
  status: Generated<'current' | 'left'>;
  left_at: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface PupilsTable extends PersonRecordColumns {
  upn_bidx: string | null;
  year_group: string | null;
  registration_group: string | null;
  photo_blob_id: string | null;
}

export type ContactsTable = PersonRecordColumns;

export interface StaffTable extends PersonRecordColumns {
  photo_blob_id: string | null;
}

export interface PupilContactsTable {
  tenant_id: string;
  pupil_id: string;
  contact_id: string;
  priority: number | null;
  data_enc: string;
}

export interface SchoolGroupsTable {
  id: Generated<string>;
  tenant_id: string;
  source: string;
  mis_id: string;
  kind: 'year' | 'registration' | 'house' | 'class';
  name: string;
  code: string | null;
  content_hash: string;
  status: Generated<'current' | 'left'>;
  left_at: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  member_kind: 'pupil' | 'staff';
  member_id: string;
}

export interface AttendanceMarksTable {
  tenant_id: string;
  pupil_id: string;
  date: string;
  session: 'AM' | 'PM';
  code_enc: string;
  content_hash: string;
}

/** School-controlled sharing of the sync hub's data (migration 0007). */
export type SyncGrantScope =
  | 'pupils.basic'
  | 'pupils.contact'
  | 'pupils.sensitive'
  | 'pupils.photo'
  | 'contacts'
  | 'staff'
  | 'groups'
  | 'attendance'
  | 'fsm';

export interface SyncGrantsTable {
  id: Generated<string>;
  tenant_id: string;
  grantee_kind: 'product' | 'api_client';
  grantee: string;
  scopes: SyncGrantScope[];
  created_by: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface SyncGrantExclusionsTable {
  tenant_id: string;
  grant_id: string;
  member_kind: 'pupil' | 'staff';
  member_id: string;
  created_at: Generated<Date>;
}

export interface SyncReadCountsTable {
  tenant_id: string;
  grantee: string;
  day: ColumnType<string, string, string>;
  reads: Generated<number>;
}

export interface SyncWebhooksTable {
  id: Generated<string>;
  tenant_id: string;
  grantee: string;
  url: string;
  secret_enc: string;
  created_by: string;
  created_at: Generated<Date>;
  disabled_at: Date | null;
}

export interface SyncChangeEventsTable {
  id: Generated<string>;
  tenant_id: string;
  seq: ColumnType<string, string | number | bigint, never>;
  run_id: string;
  entity: string;
  record_id: string;
  change: 'created' | 'updated' | 'left';
  fields: Generated<string[]>;
  created_at: Generated<Date>;
}

export interface SyncApiClientsTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  secret_hash: string;
  name: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface SyncApiClientTokensTable {
  token_hash: string;
  tenant_id: string;
  client_id: string;
  expires_at: Date;
  created_at: Generated<Date>;
}

export interface DB extends PortalTables {
  sync_grants: SyncGrantsTable;
  sync_grant_exclusions: SyncGrantExclusionsTable;
  sync_read_counts: SyncReadCountsTable;
  sync_api_clients: SyncApiClientsTable;
  sync_api_client_tokens: SyncApiClientTokensTable;
  sync_webhooks: SyncWebhooksTable;
  sync_change_events: SyncChangeEventsTable;
  school_profiles: SchoolProfilesTable;
  sync_state: SyncStateTable;
  sync_connections: SyncConnectionsTable;
  sync_runs: SyncRunsTable;
  sync_run_changes: SyncRunChangesTable;
  pupils: PupilsTable;
  contacts: ContactsTable;
  pupil_contacts: PupilContactsTable;
  staff: StaffTable;
  school_groups: SchoolGroupsTable;
  group_members: GroupMembersTable;
  attendance_marks: AttendanceMarksTable;
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
