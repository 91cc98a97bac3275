import type { Generated } from 'kysely';

/** Row types of the client portal's tables (migration 0011). Sealed columns end in `_enc`. */

export interface PortalClientsTable {
  id: Generated<string>;
  tenant_id: string;
  kind: 'individual' | 'company';
  name_enc: string;
  name_bidx: string;
  company_number: string | null;
  reference: string | null;
  email_enc: string | null;
  mtd_itsa: Generated<boolean>;
  created_by: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface PortalClientMembersTable {
  tenant_id: string;
  client_id: string;
  user_id: string;
  added_by: string;
  added_at: Generated<Date>;
}

export interface PortalFoldersTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  name_enc: string;
  name_bidx: string;
  created_by: string;
  created_at: Generated<Date>;
}

export interface PortalDocumentsTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  folder_id: string | null;
  title_enc: string;
  latest_version: Generated<number>;
  created_by: string;
  /** Put there by one of the client's users rather than the practice (0016). */
  added_by_client: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface PortalDocumentVersionsTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  document_id: string;
  version: number;
  blob_id: string;
  filename_enc: string;
  content_type: string;
  size_bytes: number | string;
  sha256: string;
  scan: 'clean' | 'not_scanned';
  origin: Generated<'upload' | 'signed'>;
  uploaded_by: string;
  uploaded_at: Generated<Date>;
}

export type FlowKind = 'approval' | 'signature';
export type FlowStatus = 'pending' | 'approved' | 'rejected' | 'signed' | 'declined' | 'expired' | 'cancelled';

export interface PortalFlowsTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  kind: FlowKind;
  title_enc: string;
  message_enc: string | null;
  recipient_user_id: string;
  status: Generated<FlowStatus>;
  response_enc: string | null;
  created_by: string;
  created_at: Generated<Date>;
  expires_at: Date | null;
  completed_at: Date | null;
  next_reminder_at: Date | null;
  reminders_sent: Generated<number>;
}

export interface PortalFlowDocumentsTable {
  tenant_id: string;
  client_id: string;
  flow_id: string;
  document_id: string;
  version_id: string;
  position: number;
  original_sha256: string;
  signed_version_id: string | null;
  final_sha256: string | null;
}

export interface PortalFlowEventsTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  flow_id: string;
  at: Generated<Date>;
  event: string;
  actor_enc: string;
  ip_enc: string | null;
  user_agent_enc: string | null;
}

export interface PortalPracticeTable {
  tenant_id: string;
  signing_credits: Generated<number>;
  storage_quota_bytes: number | string;
  signing_p12_enc: string | null;
  signing_passphrase_enc: string | null;
  signing_fingerprint: string | null;
  signing_not_after: Date | null;
  updated_at: Generated<Date>;
}

export interface PortalCreditEntriesTable {
  id: Generated<string>;
  tenant_id: string;
  kind: 'signing' | 'storage';
  delta: number | string;
  reason: string;
  flow_id: string | null;
  purchase_id: string | null;
  created_by: string;
  created_at: Generated<Date>;
}

export interface PortalRequestTemplatesTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  questions: unknown;
  created_by: string;
  created_at: Generated<Date>;
}

export type RequestStatus = 'sent' | 'answered' | 'completed' | 'declined' | 'expired' | 'cancelled';

export interface PortalRequestsTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  kind: 'questionnaire' | 'mtd_quarter';
  /** Clear titles of rows written before 0017, until sealed into title_enc. */
  title: string | null;
  title_enc: string | null;
  questions: unknown;
  answers_enc: string | null;
  recipient_user_id: string;
  status: Generated<RequestStatus>;
  mtd_period: string | null;
  response_enc: string | null;
  created_by: string;
  created_at: Generated<Date>;
  due_at: Date | null;
  answered_at: Date | null;
  completed_at: Date | null;
  completed_by: string | null;
  next_reminder_at: Date | null;
  reminders_sent: Generated<number>;
}

export interface PortalRequestDocumentsTable {
  tenant_id: string;
  client_id: string;
  request_id: string;
  document_id: string;
  question: string;
}

export interface PortalInvoicesTable {
  id: Generated<string>;
  tenant_id: string;
  client_id: string;
  number: string;
  status: Generated<'issued' | 'paid' | 'void'>;
  issued_on: string | Date;
  due_on: string | Date;
  lines_enc: string;
  net_pence: number | string;
  vat_pence: number | string;
  gross_pence: number | string;
  currency: Generated<string>;
  checkout_session_id: string | null;
  payment_intent_id: string | null;
  paid_at: Date | null;
  created_by: string;
  created_at: Generated<Date>;
  next_reminder_at: Date | null;
  reminders_sent: Generated<number>;
}

export interface PortalPurchasesTable {
  id: Generated<string>;
  tenant_id: string;
  kind: 'signing' | 'storage';
  quantity: number | string;
  amount_pence: number | string;
  status: Generated<'pending' | 'paid'>;
  checkout_session_id: string | null;
  paid_at: Date | null;
  /** Storage only: the end of the year bought (0015); it counts towards the quota until then. */
  expires_at: Generated<Date | null>;
  /** When the admins were told the term is about to end (0018). */
  expiry_reminded_at: Generated<Date | null>;
  created_by: string;
  created_at: Generated<Date>;
}

export interface PortalPaymentEventsTable {
  event_id: string;
  tenant_id: string;
  type: string;
  received_at: Generated<Date>;
}

export interface PortalTables {
  portal_clients: PortalClientsTable;
  portal_client_members: PortalClientMembersTable;
  portal_folders: PortalFoldersTable;
  portal_documents: PortalDocumentsTable;
  portal_document_versions: PortalDocumentVersionsTable;
  portal_flows: PortalFlowsTable;
  portal_flow_documents: PortalFlowDocumentsTable;
  portal_flow_events: PortalFlowEventsTable;
  portal_practice: PortalPracticeTable;
  portal_credit_entries: PortalCreditEntriesTable;
  portal_request_templates: PortalRequestTemplatesTable;
  portal_requests: PortalRequestsTable;
  portal_request_documents: PortalRequestDocumentsTable;
  portal_invoices: PortalInvoicesTable;
  portal_purchases: PortalPurchasesTable;
  portal_payment_events: PortalPaymentEventsTable;
}
