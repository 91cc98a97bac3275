/** Response shapes of the sync hub's routes (/api/v1/sync/…; see /api/docs for the full contract). */

export const SYNC_ENTITIES = ['pupils', 'contacts', 'staff', 'groups', 'attendance'] as const;
export type SyncEntity = (typeof SYNC_ENTITIES)[number];

export interface SyncPage<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface SyncAddress {
  lines: string[];
  town?: string | null;
  county?: string | null;
  postcode?: string | null;
}

export interface SyncEmail {
  address: string;
  type?: string | null;
}

export interface SyncPhone {
  number: string;
  type?: string | null;
}

interface RecordMeta {
  id: string;
  source: string;
  misId: string;
  status: 'current' | 'left';
  leftAt: string | null;
  updatedAt: string;
}

export interface SyncPupil extends RecordMeta {
  legalForename: string;
  legalSurname: string;
  middleNames: string | null;
  preferredForename: string | null;
  preferredSurname: string | null;
  dateOfBirth: string | null;
  gender: string | null;
  upn: string | null;
  admissionNumber: string | null;
  ethnicity: string | null;
  religion: string | null;
  firstLanguage: string | null;
  address: SyncAddress | null;
  emails: SyncEmail[];
  phones: SyncPhone[];
  fsmEligible: boolean | null;
  fsmPeriods: { start: string; end?: string | null }[];
  senStatus: string | null;
  yearGroup: string | null;
  registrationGroup: string | null;
  house: string | null;
  enrolmentDate: string | null;
  leavingDate: string | null;
  photoBlobId: string | null;
}

export interface SyncContactLink {
  pupilId: string;
  relationship: string | null;
  parentalResponsibility: boolean | null;
  priority: number | null;
  livesWith: boolean | null;
  /** A court order or instruction: this person must not be contacted about this pupil. */
  noContact: boolean;
}

export interface SyncContact extends RecordMeta {
  title: string | null;
  forename: string;
  surname: string;
  emails: SyncEmail[];
  phones: SyncPhone[];
  address: SyncAddress | null;
  links: SyncContactLink[];
}

export interface SyncPupilWithContacts extends SyncPupil {
  contacts: SyncContact[];
}

export interface SyncStaff extends RecordMeta {
  title: string | null;
  forename: string;
  surname: string;
  dateOfBirth: string | null;
  gender: string | null;
  jobTitle: string | null;
  emails: SyncEmail[];
  phones: SyncPhone[];
  photoBlobId: string | null;
}

export type SyncGroupKind = 'year' | 'registration' | 'house' | 'class';

export interface SyncGroup {
  id: string;
  source: string;
  misId: string;
  kind: SyncGroupKind;
  name: string;
  code: string | null;
  status: 'current' | 'left';
  pupilIds: string[];
  staffIds: string[];
}

export interface SyncFreshness {
  /** Entity → ISO time it was last brought up to date. */
  freshAsOf: Record<string, string>;
}

/** One problem with an import: where (file and line, element path, mapping key) and why; never a value. */
export interface ImportProblem {
  location: string;
  message: string;
}

export type EntityCounts = Record<string, number>;

export type ImportFormat = 'ctf' | 'oneroster-csv' | 'csv';

export interface RunSummary {
  runId: string | null;
  status: 'succeeded' | 'failed';
  dryRun: boolean;
  created: EntityCounts;
  updated: EntityCounts;
  left: EntityCounts;
  warnings: ImportProblem[];
  errors: ImportProblem[];
}

export interface SyncRun {
  id: string;
  connectionId: string | null;
  source: string;
  format: string;
  mode: 'full' | 'delta';
  dryRun: boolean;
  status: 'running' | 'succeeded' | 'failed';
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  created: EntityCounts;
  updated: EntityCounts;
  left: EntityCounts;
  warnings: ImportProblem[];
  errors: ImportProblem[];
  /** While running: the kind of record being written and how many are done (null when not known). */
  progress: SyncRunProgress | null;
}

export interface SyncRunProgress {
  entity: string;
  done: number;
  total: number;
  at: string;
}

export interface SyncRunChange {
  entity: string;
  recordId: string;
  misId?: string;
  change: string;
  /** Names of the fields that changed, never their values. */
  fields: string[];
}

export interface SyncRunWithChanges extends SyncRun {
  changes: SyncRunChange[];
}

export interface SyncGrant {
  id: string;
  granteeKind: 'product' | 'api_client';
  grantee: string;
  scopes: string[];
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  exclusions: { memberKind: 'pupil' | 'staff'; memberId: string }[];
  /** Reads per UTC day over the last 30 days (days without reads left out). */
  reads: { day: string; reads: number }[];
}

export interface SharingOverview {
  paused: boolean;
  grants: SyncGrant[];
}

export type SyncConnectionKind = 'oneroster-rest' | 'wonde';

/** A saved connection to the school's MIS; its secret (clientSecret or token) always comes back as ********. */
export interface SyncConnection {
  id: string;
  kind: SyncConnectionKind;
  name: string;
  /** 'nightly' (02:00 UK time) or null: only when someone asks for a sync. */
  schedule: 'nightly' | null;
  createdAt: string;
  settings: Record<string, string>;
  lastRun: { id: string; status: string; startedAt: string; finishedAt: string | null } | null;
}

/** A change-event webhook; `secret` is ******** except in the answer to registering it. */
export interface SyncWebhook {
  id: string;
  grantee: string;
  url: string;
  secret: string;
  createdBy: string;
  createdAt: string;
}

/** An app registered to read school data through the OneRoster 1.2 API. */
export interface SyncApiClient {
  id: string;
  clientId: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

/** The answer to registering an API client: the secret (this once) and where the app calls. */
export interface SyncApiClientCreated extends SyncApiClient {
  clientSecret: string;
  /** Paths on this server: the OAuth 2 token endpoint and the rostering base. */
  tokenUrl: string;
  baseUrl: string;
}
