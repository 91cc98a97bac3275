import type { Migration } from 'kysely';
import * as core from './0001_core.ts';
import * as blobs from './0002_blobs.ts';
import * as identity from './0004_identity.ts';
import * as throttle from './0003_throttle.ts';
import * as sessionAccess from './0005_session_access.ts';
import * as sync from './0006_sync.ts';
import * as syncSharing from './0007_sync_sharing.ts';
import * as onerosterClients from './0008_oneroster_clients.ts';
import * as syncWebhooks from './0009_sync_webhooks.ts';
import * as syncRunProgress from './0010_sync_run_progress.ts';
import * as portal from './0011_portal.ts';
import * as portalVerify from './0012_portal_verify.ts';
import * as portalInvoices from './0013_portal_invoices.ts';
import * as portalRequests from './0014_portal_requests.ts';
import * as portalStorageTerms from './0015_portal_storage_terms.ts';
import * as portalDocumentAddedBy from './0016_portal_document_added_by.ts';
import * as portalRequestTitles from './0017_portal_request_titles.ts';
import * as portalStorageReminders from './0018_portal_storage_reminders.ts';

/** Ordered migrations; the same list runs on PGlite and PostgreSQL. Add new ones at the end. */
export const migrations: Record<string, Migration> = {
  '0001_core': core,
  '0002_blobs': blobs,
  '0004_identity': identity,
  '0003_throttle': throttle,
  '0005_session_access': sessionAccess,
  '0006_sync': sync,
  '0007_sync_sharing': syncSharing,
  '0008_oneroster_clients': onerosterClients,
  '0009_sync_webhooks': syncWebhooks,
  '0010_sync_run_progress': syncRunProgress,
  '0011_portal': portal,
  '0012_portal_verify': portalVerify,
  '0013_portal_invoices': portalInvoices,
  '0014_portal_requests': portalRequests,
  '0015_portal_storage_terms': portalStorageTerms,
  '0016_portal_document_added_by': portalDocumentAddedBy,
  '0017_portal_request_titles': portalRequestTitles,
  '0018_portal_storage_reminders': portalStorageReminders,
};
