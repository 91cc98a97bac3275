import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, fakePerson, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.ts';
import { saveBlob } from '../../platform/storage/blobs.ts';
import { systemMeta, type TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { addClientUser, listClientUsers, removeClientUser } from './client-users.ts';
import { createClient, deleteClient, getClient, listClients, updateClient, type Client } from './clients.ts';

let platform: TestPlatform;
let practice: TestOrganisation;
let other: TestOrganisation;
let acme: Client;
let bloggs: Client;
let clientUserId: string;

const as = <T>(tenantId: string, userId: string, work: (scope: TenantScope) => Promise<T>) =>
  platform.inTenant({ tenantId, actor: { type: 'user', id: userId }, meta: systemMeta('test') }, work);

beforeAll(async () => {
  platform = await startTestPlatform();
  practice = await createTestOrganisation(platform, { kind: 'practice' });
  other = await createTestOrganisation(platform, { kind: 'practice' });
  acme = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'company', name: 'Acme Widgets Ltd', companyNumber: 'sc123456', reference: 'ACME01' }));
  bloggs = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Jo Bloggs', email: 'jo.bloggs@example.test', mtdItsa: true }));
  const added = await asSystem(platform, practice.id, (scope) =>
    addClientUser(platform.queue, scope, acme.id, { email: fakePerson().email }, platform.config.publicUrl),
  );
  clientUserId = added.userId;
});
afterAll(async () => platform?.close());

describe('clients', () => {
  it('keeps names and emails sealed, company numbers normalised, and finds a client by exact name, reference or number', async () => {
    expect(acme).toMatchObject({ kind: 'company', name: 'Acme Widgets Ltd', companyNumber: 'SC123456', reference: 'ACME01', mtdItsa: false });
    const stored = await asSystem(platform, practice.id, (scope) => scope.trx.selectFrom('portal_clients').select(['name_enc', 'email_enc']).where('id', '=', bloggs.id).executeTakeFirstOrThrow());
    expect(stored.name_enc).not.toContain('Bloggs');
    expect(stored.email_enc).not.toContain('example.test');
    for (const search of ['jo bloggs', 'ACME01', 'sc123456']) {
      const found = await asSystem(platform, practice.id, (scope) => listClients(scope, { search }));
      expect(found.total, search).toBe(1);
    }
    const all = await asSystem(platform, practice.id, (scope) => listClients(scope));
    expect(all.items.map((c) => c.name)).toEqual(['Acme Widgets Ltd', 'Jo Bloggs']);
  });

  it('refuses bad input naming each field, and changes nothing', async () => {
    const attempt = asSystem(platform, practice.id, (scope) =>
      createClient(scope, { kind: 'individual', name: ' ', companyNumber: '123', email: 'not-an-email', mtdItsa: true }),
    );
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    const fields = ((await attempt.catch((e: ValidationError) => e)) as ValidationError).errors!.map((p) => p.field).sort();
    expect([...new Set(fields)]).toEqual(['companyNumber', 'email', 'name']);
    await expect(asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'company', name: 'Acme Two', reference: 'ACME01' }))).rejects.toBeInstanceOf(ConflictError);
    await expect(asSystem(platform, practice.id, (scope) => updateClient(scope, acme.id, { mtdItsa: true }))).rejects.toMatchObject({ errors: [{ field: "mtdItsa" }] });
    expect((await asSystem(platform, practice.id, (scope) => listClients(scope))).total).toBe(2);
  });

  it('updates and audits field names only', async () => {
    const updated = await asSystem(platform, practice.id, (scope) => updateClient(scope, bloggs.id, { name: 'Jo Bloggs-Smith', reference: 'JB01' }));
    expect(updated).toMatchObject({ name: 'Jo Bloggs-Smith', reference: 'JB01' });
    const audit = await asSystem(platform, practice.id, (scope) =>
      scope.trx.selectFrom('audit_events').select(['action', 'changes']).where('action', '=', 'portal.client_updated').executeTakeFirstOrThrow(),
    );
    expect(JSON.stringify(audit.changes)).not.toContain('Smith');
    expect(JSON.stringify(audit.changes)).toContain('JB01');
  });

  it('is only for practices', async () => {
    const school = await createTestOrganisation(platform, { kind: 'school' });
    await expect(asSystem(platform, school.id, (scope) => createClient(scope, { kind: 'individual', name: 'A Person' }))).rejects.toThrow(/only an accountancy practice/);
  });
});

describe('client areas', () => {
  it("every portal table holding a client's rows has the restrictive client-area policy", async () => {
    const tables = await sql<{ table: string; restrictive: number }>`
      SELECT c.relname AS table,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid AND NOT p.polpermissive AND p.polname LIKE '%_client_area') AS restrictive
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname LIKE 'portal_%'
         AND (c.relname = 'portal_clients' OR EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_name = c.relname AND k.column_name = 'client_id'))`.execute(platform.db.owner);
    expect(tables.rows.length).toBeGreaterThanOrEqual(10);
    expect(tables.rows.filter((t) => t.restrictive !== 1).map((t) => t.table)).toEqual([]);
  });

  it('a client user sees only the clients they belong to: not by list, id, search or a direct query', async () => {
    const list = await as(practice.id, clientUserId, (scope) => listClients(scope));
    expect(list.items.map((c) => c.id)).toEqual([acme.id]);
    await expect(as(practice.id, clientUserId, (scope) => getClient(scope, bloggs.id))).rejects.toBeInstanceOf(NotFoundError);
    expect((await as(practice.id, clientUserId, (scope) => listClients(scope, { search: 'Jo Bloggs-Smith' }))).total).toBe(0);
    // Below the service: the database itself returns nothing of the other client.
    const direct = await as(practice.id, clientUserId, (scope) => sql<{ n: number }>`SELECT count(*)::int AS n FROM portal_clients WHERE id = ${bloggs.id}`.execute(scope.trx));
    expect(direct.rows[0]!.n).toBe(0);
    // Nor can they write into it.
    const intrude = as(practice.id, clientUserId, (scope) =>
      scope.trx.insertInto('portal_folders').values({ tenant_id: practice.id, client_id: bloggs.id, name_enc: 'x', name_bidx: 'x', created_by: 'intruder' }).execute(),
    );
    await expect(intrude).rejects.toThrow(/row-level security/);
    // Nor see who else has access to other clients.
    const members = await as(practice.id, clientUserId, (scope) => scope.trx.selectFrom('portal_client_members').select('client_id').execute());
    expect(members.map((m) => m.client_id)).toEqual([acme.id]);
  });

  it('staff and administrators see every client; another practice sees none', async () => {
    expect((await as(practice.id, practice.adminUserId, (scope) => listClients(scope))).total).toBe(2);
    expect((await as(other.id, other.adminUserId, (scope) => listClients(scope))).total).toBe(0);
    await expect(as(other.id, other.adminUserId, (scope) => getClient(scope, acme.id))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('adds an existing client user to a second client, refuses staff emails, and removes access again', async () => {
    const users = await asSystem(platform, practice.id, (scope) => listClientUsers(scope, acme.id));
    expect(users).toHaveLength(1);
    const again = await asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, bloggs.id, { email: users[0]!.email }, 'http://x'));
    expect(again).toEqual({ userId: clientUserId, invited: false });
    expect((await as(practice.id, clientUserId, (scope) => listClients(scope))).total).toBe(2);
    await expect(asSystem(platform, practice.id, (scope) => addClientUser(platform.queue, scope, bloggs.id, { email: practice.adminEmail }, 'http://x'))).rejects.toThrow(/staff/);
    await asSystem(platform, practice.id, (scope) => removeClientUser(scope, bloggs.id, clientUserId));
    expect((await as(practice.id, clientUserId, (scope) => listClients(scope))).items.map((c) => c.id)).toEqual([acme.id]);
  });

  it('deleting a client removes its area and queues its files for removal once committed', async () => {
    const doomed = await asSystem(platform, practice.id, (scope) => createClient(scope, { kind: 'individual', name: 'Short Stay' }));
    const blob = await asSystem(platform, practice.id, async (scope) => {
      const saved = await saveBlob(platform.blobs, scope, 'portal.document', Readable.from([Buffer.from('%PDF-1.7 test')]));
      const doc = await scope.trx.insertInto('portal_documents').values({ tenant_id: practice.id, client_id: doomed.id, title_enc: 'x', created_by: 'test' }).returning('id').executeTakeFirstOrThrow();
      await scope.trx
        .insertInto('portal_document_versions')
        .values({ tenant_id: practice.id, client_id: doomed.id, document_id: doc.id, version: 1, blob_id: saved.id, filename_enc: 'x', content_type: 'application/pdf', size_bytes: saved.sizeBytes, sha256: saved.sha256, scan: 'not_scanned', uploaded_by: 'test' })
        .execute();
      return saved;
    });
    const result = await asSystem(platform, practice.id, (scope) => deleteClient(platform.queue, scope, doomed.id));
    expect(result).toEqual({ documents: 1, files: 1 });
    const left = await asSystem(platform, practice.id, async (scope) => ({
      versions: (await scope.trx.selectFrom('portal_document_versions').select('id').where('client_id', '=', doomed.id).execute()).length,
      blobs: (await scope.trx.selectFrom('blobs').select('id').where('id', '=', blob.id).execute()).length,
    }));
    expect(left).toEqual({ versions: 0, blobs: 0 });
    const queued = await platform.db.owner.selectFrom(sql`pgboss.job`.as('j')).select(sql<unknown>`data`.as('data')).where(sql`name`, '=', 'blobs.remove').execute();
    expect(queued.map((j) => j.data)).toContainEqual({ tenantId: practice.id, blobIds: [blob.id] });
  });
});
