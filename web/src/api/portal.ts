/** Response shapes of the client portal's routes (/api/v1/portal/…; see /api/docs for the full contract). */

export type PortalClientKind = 'individual' | 'company';

export interface PortalClient {
  id: string;
  kind: PortalClientKind;
  name: string;
  companyNumber: string | null;
  reference: string | null;
  email: string | null;
  /** In scope for Making Tax Digital for Income Tax. */
  mtdItsa: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface PortalClientPage {
  items: PortalClient[];
  total: number;
}

export interface PortalClientUser {
  userId: string;
  email: string;
  displayName: string | null;
  status: string;
  addedAt: string;
}

export interface PortalFolder {
  id: string;
  clientId: string;
  name: string;
  createdAt: string;
}

export interface PortalDocument {
  id: string;
  clientId: string;
  folderId: string | null;
  title: string;
  latestVersion: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface PortalDocumentVersion {
  version: number;
  filename: string;
  /** Decided by the server from the content, not from what the uploader declared. */
  contentType: string;
  sizeBytes: number;
  sha256: string;
  scan: 'clean' | 'not_scanned';
  origin: 'upload' | 'signed';
  uploadedBy: string;
  uploadedAt: string;
}

export interface PortalDocumentWithVersions extends PortalDocument {
  versions: PortalDocumentVersion[];
}

export interface PortalUploaded {
  document: PortalDocument;
  version: PortalDocumentVersion;
}

export type FlowKind = 'approval' | 'signature';
export const FLOW_STATUSES = ['pending', 'approved', 'rejected', 'signed', 'declined', 'expired', 'cancelled'] as const;
export type FlowStatus = (typeof FLOW_STATUSES)[number];

export interface PortalFlowDocument {
  documentId: string;
  title: string;
  /** The version that was sent. */
  version: number;
  originalSha256: string;
  /** The signed copy's version, once signed. */
  signedVersion: number | null;
  /** SHA-256 of the signed file: what the verification page checks. */
  finalSha256: string | null;
}

export interface PortalFlow {
  id: string;
  clientId: string;
  kind: FlowKind;
  title: string;
  message: string | null;
  recipientUserId: string;
  status: FlowStatus;
  /** The comment on a rejection, or the reason for declining. */
  response: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  completedAt: string | null;
  remindersSent: number;
  documents: PortalFlowDocument[];
}

export interface PortalFlowEvent {
  event: string;
  at: string;
  who: string;
  ipAddress: string | null;
  userAgent: string | null;
}

export interface PortalFlowWithTimeline extends PortalFlow {
  timeline: PortalFlowEvent[];
}

export type FlowDashboard = Record<FlowStatus, number>;

export interface PracticeBalance {
  signingCredits: number;
  storageQuotaBytes: number;
  storageUsedBytes: number;
}

export interface VerificationAnswer {
  matches: boolean;
  sha256: string;
  practiceName?: string;
  signedAt?: string;
}

/** A drawn signature is a PNG (base64, no data: prefix); a typed one is the signer's name. */
export type SignatureInput = { kind: 'typed'; text: string } | { kind: 'drawn'; png: string };

/** Where a document's content is read: the latest version unless one is named; inline previews PDFs and images. */
export function documentContentUrl(documentId: string, options: { version?: number; inline?: boolean } = {}): string {
  const query = new URLSearchParams();
  if (options.version !== undefined) query.set('version', String(options.version));
  if (options.inline) query.set('disposition', 'inline');
  const search = query.toString();
  return `/api/v1/portal/documents/${encodeURIComponent(documentId)}/content${search ? `?${search}` : ''}`;
}

export function certificateUrl(flowId: string, documentId: string): string {
  return `/api/v1/portal/flows/${encodeURIComponent(flowId)}/documents/${encodeURIComponent(documentId)}/certificate`;
}
