import { sql } from 'kysely';
import { z } from 'zod';
import { recordAudit, type FieldChange } from '../../platform/audit/audit-writer.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/queue.ts';
import { removeBlobsOnCommit } from '../../platform/storage/blob-removal.ts';
import { isUuid, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { parseOrThrow } from '../../platform/validation.ts';
import { requirePractice } from './practice.ts';

/** A client of the practice: a person or a company, with its own area of documents and flows. */
export interface Client {
  id: string;
  kind: 'individual' | 'company';
  name: string;
  companyNumber: string | null;
  reference: string | null;
  email: string | null;
  /** In scope for Making Tax Digital for Income Tax: quarterly update requests are scheduled. */
  mtdItsa: boolean;
  createdAt: string;
  updatedAt: string;
}

const name = z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const email = z.string().trim().toLowerCase().pipe(z.email({ error: 'must be an email address' })).refine((v) => v.length <= 254, 'must be at most 254 characters');
// Companies House numbers: eight characters, digits or a two-letter prefix (SC, NI, OC…) and six digits.
const companyNumber = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^(\d{8}|[A-Z]{2}\d{6})$/, 'must be a Companies House number: 8 digits, or 2 letters and 6 digits');
const reference = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(40, 'must be at most 40 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._/-]*$/, 'may hold letters, digits, spaces and . _ / -');

export const clientSchema = z
  .strictObject({
    kind: z.enum(['individual', 'company'], { error: "must be 'individual' or 'company'" }),
    name,
    companyNumber: companyNumber.nullable().optional(),
    reference: reference.nullable().optional(),
    email: email.nullable().optional(),
    mtdItsa: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'individual' && c.companyNumber) ctx.addIssue({ code: 'custom', path: ['companyNumber'], message: 'is for companies only' });
    // Making Tax Digital for Income Tax covers sole traders and landlords: people, not companies.
    if (c.kind === 'company' && c.mtdItsa) ctx.addIssue({ code: 'custom', path: ['mtdItsa'], message: 'applies to individuals only' });
  });
export type ClientInput = z.input<typeof clientSchema>;

export const clientUpdateSchema = z.strictObject({
  name: name.optional(),
  companyNumber: companyNumber.nullable().optional(),
  reference: reference.nullable().optional(),
  email: email.nullable().optional(),
  mtdItsa: z.boolean({ error: 'must be true or false' }).optional(),
});
export type ClientUpdate = z.input<typeof clientUpdateSchema>;

type ClientRow = {
  id: string;
  kind: 'individual' | 'company';
  name_enc: string;
  company_number: string | null;
  reference: string | null;
  email_enc: string | null;
  mtd_itsa: boolean;
  created_at: Date;
  updated_at: Date;
};

const COLUMNS = ['id', 'kind', 'name_enc', 'company_number', 'reference', 'email_enc', 'mtd_itsa', 'created_at', 'updated_at'] as const;

function toClient(scope: TenantScope, row: ClientRow): Client {
  return {
    id: row.id,
    kind: row.kind,
    name: scope.cipher.open('portal.client.name', row.name_enc),
    companyNumber: row.company_number,
    reference: row.reference,
    email: scope.cipher.openOptional('portal.client.email', row.email_enc),
    mtdItsa: row.mtd_itsa,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export function actorLabel(scope: TenantScope): string {
  return scope.actor.id ? `${scope.actor.type}:${scope.actor.id}` : scope.actor.type;
}

function referenceTaken(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

export async function createClient(scope: TenantScope, input: ClientInput): Promise<Client> {
  const data = parseOrThrow(clientSchema, input);
  await requirePractice(scope);
  let row: ClientRow;
  try {
    row = (await scope.trx
      .insertInto('portal_clients')
      .values({
        tenant_id: scope.tenantId,
        kind: data.kind,
        name_enc: scope.cipher.seal('portal.client.name', data.name),
        name_bidx: scope.cipher.blindIndex('portal.client.name', data.name),
        company_number: data.companyNumber ?? null,
        reference: data.reference ?? null,
        email_enc: scope.cipher.sealOptional('portal.client.email', data.email ?? null),
        mtd_itsa: data.mtdItsa ?? false,
        created_by: actorLabel(scope),
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()) as ClientRow;
  } catch (error) {
    if (referenceTaken(error)) throw new ConflictError('another client already has this reference');
    throw error;
  }
  await recordAudit(scope, {
    action: 'portal.client_created',
    target: { type: 'portal_client', id: row.id },
    changes: { kind: { after: data.kind }, name: { personal: true }, ...(data.email ? { email: { personal: true } } : {}), mtdItsa: { after: data.mtdItsa ?? false } },
  });
  return toClient(scope, row);
}

export interface ClientListQuery {
  /** Exact name (any case), reference or company number. */
  search?: string;
  limit?: number;
  offset?: number;
}

/**
 * The clients the caller may see, by name. For a client user the database itself hides every
 * client they are not a member of (policy portal_clients_client_area), so this is the same query
 * for everyone. Names are sealed: the list is sorted after opening, a page at a time by creation.
 */
export async function listClients(scope: TenantScope, query: ClientListQuery = {}): Promise<{ items: Client[]; total: number }> {
  const limit = Math.max(1, Math.min(200, query.limit ?? 50));
  const offset = Math.max(0, query.offset ?? 0);
  let base = scope.trx.selectFrom('portal_clients').where('tenant_id', '=', scope.tenantId);
  const search = query.search?.trim();
  if (search) {
    const index = scope.cipher.blindIndex('portal.client.name', search);
    base = base.where((eb) => eb.or([eb('name_bidx', '=', index), eb('reference', '=', search), eb('company_number', '=', search.toUpperCase())]));
  }
  const { total } = await base.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow();
  const rows = await base.select(COLUMNS).orderBy('created_at').orderBy('id').limit(limit).offset(offset).execute();
  const items = rows.map((r) => toClient(scope, r as ClientRow)).sort((x, y) => x.name.localeCompare(y.name, 'en-GB'));
  return { items, total };
}

export async function getClient(scope: TenantScope, clientId: string): Promise<Client> {
  if (!isUuid(clientId)) throw new NotFoundError('client');
  const row = await scope.trx.selectFrom('portal_clients').select(COLUMNS).where('id', '=', clientId).executeTakeFirst();
  if (!row) throw new NotFoundError('client');
  return toClient(scope, row as ClientRow);
}

export async function updateClient(scope: TenantScope, clientId: string, input: ClientUpdate): Promise<Client> {
  const data = parseOrThrow(clientUpdateSchema, input);
  const current = await getClient(scope, clientId);
  if (current.kind === 'individual' && data.companyNumber) throw new ValidationError([{ field: 'companyNumber', reason: 'is for companies only' }]);
  if (current.kind === 'company' && data.mtdItsa) throw new ValidationError([{ field: 'mtdItsa', reason: 'applies to individuals only' }]);
  const set: Record<string, unknown> = { updated_at: new Date() };
  const changes: Record<string, FieldChange> = {};
  if (data.name !== undefined && data.name !== current.name) {
    set.name_enc = scope.cipher.seal('portal.client.name', data.name);
    set.name_bidx = scope.cipher.blindIndex('portal.client.name', data.name);
    changes.name = { personal: true };
  }
  if (data.email !== undefined && data.email !== current.email) {
    set.email_enc = scope.cipher.sealOptional('portal.client.email', data.email);
    changes.email = { personal: true };
  }
  if (data.companyNumber !== undefined && data.companyNumber !== current.companyNumber) {
    set.company_number = data.companyNumber;
    changes.companyNumber = { before: current.companyNumber, after: data.companyNumber };
  }
  if (data.reference !== undefined && data.reference !== current.reference) {
    set.reference = data.reference;
    changes.reference = { before: current.reference, after: data.reference };
  }
  if (data.mtdItsa !== undefined && data.mtdItsa !== current.mtdItsa) {
    set.mtd_itsa = data.mtdItsa;
    changes.mtdItsa = { before: current.mtdItsa, after: data.mtdItsa };
  }
  if (Object.keys(changes).length === 0) return current;
  try {
    await scope.trx.updateTable('portal_clients').set(set).where('id', '=', clientId).execute();
  } catch (error) {
    if (referenceTaken(error)) throw new ConflictError('another client already has this reference');
    throw error;
  }
  await recordAudit(scope, { action: 'portal.client_updated', target: { type: 'portal_client', id: clientId }, changes });
  return getClient(scope, clientId);
}

/**
 * Deletes a client and everything in its area: documents and their files, flows, requests,
 * invoices, memberships. The rows go in this transaction (cascading from the client); the files
 * once it has committed. Audited with counts, never names.
 */
export async function deleteClient(queue: JobQueue, scope: TenantScope, clientId: string): Promise<{ documents: number; files: number }> {
  await getClient(scope, clientId);
  const versions = await scope.trx.selectFrom('portal_document_versions').select('blob_id').where('client_id', '=', clientId).execute();
  const documents = await scope.trx.selectFrom('portal_documents').select(sql<number>`count(*)::int`.as('n')).where('client_id', '=', clientId).executeTakeFirstOrThrow();
  await scope.trx.deleteFrom('portal_clients').where('id', '=', clientId).execute();
  await removeBlobsOnCommit(queue, scope, versions.map((v) => v.blob_id));
  await recordAudit(scope, {
    action: 'portal.client_deleted',
    target: { type: 'portal_client', id: clientId },
    changes: { documents: { before: documents.n, after: 0 }, files: { before: versions.length, after: 0 } },
  });
  return { documents: documents.n, files: versions.length };
}
