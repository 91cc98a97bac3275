import { definePermissions } from '../../platform/access/permissions.ts';
import { defineRole } from '../../platform/access/roles.ts';

/**
 * The client portal's permissions and the practice's three roles. Administrators hold every
 * permission (the platform's `admin` role); staff users work with clients; client users act on
 * what is sent to them, in their own clients' areas only (enforced by the database, see 0011).
 */
export const PORTAL_PERMISSIONS = definePermissions('portal', {
  'portal.clients.read': "see clients with their documents, flows, requests and invoices (a client user: their own clients only)",
  'portal.clients.manage': 'add, change and delete clients, and give client users access to them',
  'portal.documents.upload': "upload documents and new versions into a client's area",
  'portal.documents.manage': "organise and remove documents in clients' areas",
  'portal.flows.send': 'send documents for approval or signature, and information requests',
  'portal.invoices.manage': 'raise invoices and export them',
  'portal.billing.manage': 'buy signing credits and storage for the practice',
  'portal.respond': 'as a client user: approve, sign or decline what the practice sends, answer requests, pay invoices',
});

/** The practice role of client users; the database restricts them by this name (0011). */
export const CLIENT_ROLE = 'client';
export const STAFF_ROLE = 'staff';

defineRole(['practice'], {
  name: STAFF_ROLE,
  label: 'Staff user',
  description: 'Works with the practice’s clients: documents, approvals, signatures, requests and invoices.',
  permissions: [
    'organisation.read',
    'users.read',
    'portal.clients.read',
    'portal.clients.manage',
    'portal.documents.upload',
    'portal.documents.manage',
    'portal.flows.send',
    'portal.invoices.manage',
  ],
});

defineRole(['practice'], {
  name: CLIENT_ROLE,
  label: 'Client user',
  description: 'A client of the practice: approves and signs what is sent, answers requests, uploads documents and pays invoices.',
  // The database limits every one of these to the client user's own clients (0011).
  permissions: ['portal.clients.read', 'portal.documents.upload', 'portal.respond'],
});
