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
  /** Who put it in the client's area; a client user adds versions only to documents client users added. */
  addedBy: 'practice' | 'client';
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
  /** The lasting allowance plus storage bought whose year runs. */
  storageQuotaBytes: number;
  storageUsedBytes: number;
  /** Storage bought and still running, soonest to end first. */
  storageTerms: { bytes: number; expiresAt: string }[];
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

// ---------- Information requests (/api/v1/portal/requests, /request-templates) ----------

export const QUESTION_KINDS = ['text', 'number', 'money', 'date', 'yes-no', 'choice', 'documents'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export interface PortalQuestion {
  /** 1–40 letters, digits, - or _; answers are keyed by it (errors name `answers.<id>`). */
  id: string;
  text: string;
  kind: QuestionKind;
  required: boolean;
  /** A choice question's options. */
  options?: string[];
  help?: string;
}

export interface PortalQuestionSection {
  title: string;
  help?: string;
  questions: PortalQuestion[];
}

export interface PortalRequestTemplate {
  /** A UUID, or a fixed id (builtin-…) for a built-in template. */
  id: string;
  name: string;
  builtIn: boolean;
  sections: PortalQuestionSection[];
  createdBy: string | null;
  createdAt: string | null;
}

export const REQUEST_STATUSES = ['sent', 'answered', 'completed', 'declined', 'expired', 'cancelled'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type RequestKind = 'questionnaire' | 'mtd_quarter';

export interface PortalRequestListItem {
  id: string;
  clientId: string;
  kind: RequestKind;
  title: string;
  recipientUserId: string;
  status: RequestStatus;
  /** Tax year and quarter of a Making Tax Digital update, e.g. '2026-27-Q1'. */
  mtdPeriod: string | null;
  createdBy: string;
  createdAt: string;
  dueAt: string | null;
  answeredAt: string | null;
  completedAt: string | null;
  completedBy: string | null;
  remindersSent: number;
}

/** Money is whole pence, dates YYYY-MM-DD, yes-no a boolean; a documents answer lists document ids. */
export type AnswerValue = string | number | boolean | string[];

export interface MtdSummaryLine {
  category: string;
  amountPence: number;
}

export interface MtdSummary {
  income: MtdSummaryLine[];
  expenses: MtdSummaryLine[];
  note: string | null;
  totalIncomePence: number;
  totalExpensesPence: number;
  netPence: number;
}

export interface MtdQuarter {
  period: string;
  taxYear: string;
  quarter: number;
  /** Updates are cumulative: the figures run from here to the quarter's end. */
  taxYearStart: string;
  start: string;
  end: string;
  /** HMRC's deadline for the update. */
  deadline: string;
}

export interface PortalRequest extends PortalRequestListItem {
  message: string | null;
  sections: PortalQuestionSection[];
  answers: Record<string, AnswerValue>;
  documents: { questionId: string; documentId: string; title: string }[];
  /** The client's reason for declining, or their comment on the figures. */
  response: string | null;
  /** The practice's comment when it sent the request back. */
  reviewComment: string | null;
  mtd:
    | (MtdQuarter & {
        summary: MtdSummary | null;
        summaryRevision: number | null;
        decision: 'approved' | 'rejected' | null;
        decidedRevision: number | null;
      })
    | null;
}

export interface PortalMtdSummaryRecord {
  clientId: string;
  period: string;
  quarter: MtdQuarter;
  summary: MtdSummary;
  revision: number;
  updatedBy: string;
  updatedAt: string;
  requestId: string | null;
}

// ---------- Invoices and purchases (/api/v1/portal/invoices, /practice/purchases) ----------

export const VAT_RATES = ['standard', 'reduced', 'zero', 'exempt', 'outside-scope'] as const;
export type VatRate = (typeof VAT_RATES)[number];
/** The percentage of each rate, as the server prices them (exempt and outside-scope carry none). */
export const VAT_RATE_PERCENT: Readonly<Record<VatRate, number>> = { standard: 20, reduced: 5, zero: 0, exempt: 0, 'outside-scope': 0 };

/** As the API names them; an outstanding invoice past its due date is also `overdue`. */
export type InvoiceStatus = 'outstanding' | 'paid' | 'void';

export interface PortalInvoiceSummary {
  id: string;
  clientId: string;
  number: string;
  status: InvoiceStatus;
  overdue: boolean;
  issuedOn: string;
  dueOn: string;
  netPence: number;
  vatPence: number;
  grossPence: number;
  currency: string;
  paidAt: string | null;
  paymentReference: string | null;
  createdBy: string;
  createdAt: string;
}

export interface VatSummaryRow {
  vatRate: VatRate;
  ratePercent: number;
  netPence: number;
  vatPence: number;
}

export interface PortalInvoiceLine {
  description: string;
  /** Two decimal places, e.g. "1.50". */
  quantity: string;
  unitPricePence: number;
  vatRate: VatRate;
  ratePercent: number;
  netPence: number;
  vatPence: number;
  grossPence: number;
}

export interface PortalInvoice extends PortalInvoiceSummary {
  lines: PortalInvoiceLine[];
  vatSummary: VatSummaryRow[];
}

export interface PortalInvoicePage {
  items: PortalInvoiceSummary[];
  total: number;
}

export interface PortalInvoiceReceipt {
  invoiceId: string;
  clientId: string;
  number: string;
  practiceName: string;
  paidAt: string;
  paymentReference: string | null;
  currency: string;
  netPence: number;
  vatPence: number;
  grossPence: number;
  vatSummary: VatSummaryRow[];
}

/** A Stripe Checkout page: the payer's browser is sent to `url`. */
export interface PortalCheckout {
  sessionId: string;
  url: string;
}

export type PurchaseKind = 'signing' | 'storage';

export interface PortalPurchase {
  id: string;
  kind: PurchaseKind;
  quantity: number;
  amountPence: number;
  status: 'pending' | 'paid';
  createdBy: string;
  createdAt: string;
  paidAt: string | null;
  /** Storage: when the year bought ends. */
  expiresAt: string | null;
}

/** The Excel export of the invoices, with the list's filters. */
export function invoicesExportUrl(filters: { status?: InvoiceStatus; overdue?: boolean; clientId?: string } = {}): string {
  const query = new URLSearchParams();
  if (filters.status) query.set('status', filters.status);
  if (filters.overdue !== undefined) query.set('overdue', String(filters.overdue));
  if (filters.clientId) query.set('clientId', filters.clientId);
  const search = query.toString();
  return `/api/v1/portal/invoices/export.xlsx${search ? `?${search}` : ''}`;
}
