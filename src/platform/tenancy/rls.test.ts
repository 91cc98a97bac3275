import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { APP_ROLE } from '../db/roles.ts';
import { inviteUser } from '../identity/users.ts';
import { saveBlob } from '../storage/blobs.ts';
import { runImport } from '../../products/sync/engine.ts';
import { emptyBatch } from '../../products/sync/model.ts';
import { SYSTEM_ACTOR, systemMeta } from './tenant-scope.ts';

/** Tables that hold no customer data: the migrator's own bookkeeping. */
const NOT_CUSTOMER_DATA = new Set([
  'kysely_migration',
  'kysely_migration_lock',
  // Wrapped platform keys; the application role has no privilege on it at all (tested below).
  'platform_secrets',
  // Credential throttle counters, read before any tenant is known; keys are HMACs, no email or IP in clear (throttle.test.ts).
  'credential_throttle',
]);
/** The tenant column of each table; every other table must have `tenant_id`. */
const TENANT_COLUMN: Record<string, string> = { organisations: 'id' };

let platform: TestPlatform;
let a: TestOrganisation;
let b: TestOrganisation;
let tables: string[];

beforeAll(async () => {
  platform = await startTestPlatform({ poolSize: 1 });
  a = await createTestOrganisation(platform);
  b = await createTestOrganisation(platform);
  // Give both tenants rows in every table they can hold.
  for (const org of [a, b]) {
    await asSystem(platform, org.id, async (scope) => {
      await inviteUser(scope, { email: `colleague@${org.id}.example.test` }, 'http://x');
      await saveBlob(platform.blobs, scope, 'test.note', Readable.from([Buffer.from('a note')]));
      // One row in each identity table, as sign-in, MFA and password reset will write them.
      const user_id = org.adminUserId;
      const tenant_id = org.id;
      const soon = new Date(Date.now() + 3600_000);
      await scope.trx.insertInto('sessions').values({ tenant_id, user_id, token_hash: `s-${org.id}`, csrf_hash: 'c', idle_expires_at: soon, absolute_expires_at: soon }).execute();
      await scope.trx.insertInto('recovery_codes').values({ tenant_id, user_id, code_hash: `r-${org.id}` }).execute();
      await scope.trx.insertInto('password_resets').values({ tenant_id, user_id, token_hash: `p-${org.id}`, expires_at: soon }).execute();
      await scope.trx.insertInto('known_devices').values({ tenant_id, user_id, device_hash: 'd' }).execute();
      // Sync sharing (0007): a grant, an exclusion from it and a day's read count.
      const grant = await scope.trx.insertInto('sync_grants').values({ tenant_id, grantee_kind: 'product', grantee: 'messaging', scopes: ['pupils.basic'], created_by: 'test' }).returning('id').executeTakeFirstOrThrow();
      await scope.trx.insertInto('sync_grant_exclusions').values({ tenant_id, grant_id: grant.id, member_kind: 'pupil', member_id: user_id }).execute();
      await scope.trx.insertInto('sync_read_counts').values({ tenant_id, grantee: 'messaging', day: '2024-09-02', reads: 1 }).execute();
      // OneRoster API clients (0008): a client and one of its access tokens.
      const client_id = `orc-${org.id.replace(/-/g, '')}`;
      await scope.trx.insertInto('sync_api_clients').values({ tenant_id, client_id, secret_hash: '0'.repeat(63) + '1', name: 'App' }).execute();
      await scope.trx.insertInto('sync_api_client_tokens').values({ tenant_id, client_id, token_hash: org.id.replace(/-/g, '').repeat(2), expires_at: soon }).execute();
      // Sync webhooks (0009): a webhook (its change events come from the import below).
      await scope.trx.insertInto('sync_webhooks').values({ tenant_id, grantee: 'messaging', url: 'https://hooks.example.test/custos', secret_enc: 'sealed', created_by: 'test' }).execute();
      // Client portal (0011): a client with a client user, a document in a folder, a flow with its document and event,
      // the practice's balance and ledger, a request template, a request with a document, an invoice, a purchase, a payment event.
      const by = 'test';
      const client = await scope.trx.insertInto('portal_clients').values({ tenant_id, kind: 'individual', name_enc: 'sealed', name_bidx: 'n', created_by: by }).returning('id').executeTakeFirstOrThrow();
      const client_id_ = client.id;
      await scope.trx.insertInto('portal_client_members').values({ tenant_id, client_id: client_id_, user_id, added_by: by }).execute();
      const folder = await scope.trx.insertInto('portal_folders').values({ tenant_id, client_id: client_id_, name_enc: 'sealed', name_bidx: 'f', created_by: by }).returning('id').executeTakeFirstOrThrow();
      const document = await scope.trx.insertInto('portal_documents').values({ tenant_id, client_id: client_id_, folder_id: folder.id, title_enc: 'sealed', created_by: by }).returning('id').executeTakeFirstOrThrow();
      const version = await scope.trx
        .insertInto('portal_document_versions')
        .values({ tenant_id, client_id: client_id_, document_id: document.id, version: 1, blob_id: user_id, filename_enc: 'sealed', content_type: 'application/pdf', size_bytes: 1, sha256: 'h', scan: 'not_scanned', uploaded_by: by })
        .returning('id')
        .executeTakeFirstOrThrow();
      const flow = await scope.trx.insertInto('portal_flows').values({ tenant_id, client_id: client_id_, kind: 'approval', title_enc: 'sealed', recipient_user_id: user_id, created_by: by }).returning('id').executeTakeFirstOrThrow();
      await scope.trx.insertInto('portal_flow_documents').values({ tenant_id, client_id: client_id_, flow_id: flow.id, document_id: document.id, version_id: version.id, position: 1, original_sha256: 'h' }).execute();
      await scope.trx.insertInto('portal_flow_events').values({ tenant_id, client_id: client_id_, flow_id: flow.id, event: 'sent', actor_enc: 'sealed' }).execute();
      await scope.trx.insertInto('portal_practice').values({ tenant_id, storage_quota_bytes: 1 }).execute();
      await scope.trx.insertInto('portal_credit_entries').values({ tenant_id, kind: 'signing', delta: 1, reason: 'test', flow_id: null, purchase_id: null, created_by: by }).execute();
      await scope.trx.insertInto('portal_request_templates').values({ tenant_id, name: 'Year end', questions: JSON.stringify([]), created_by: by }).execute();
      const request = await scope.trx.insertInto('portal_requests').values({ tenant_id, client_id: client_id_, kind: 'questionnaire', title: 'Year end', questions: JSON.stringify([]), recipient_user_id: user_id, created_by: by }).returning('id').executeTakeFirstOrThrow();
      await scope.trx.insertInto('portal_request_documents').values({ tenant_id, client_id: client_id_, request_id: request.id, document_id: document.id, question: 'q1' }).execute();
      // MTD quarterly figures (0014).
      await sql`INSERT INTO portal_mtd_summaries (tenant_id, client_id, mtd_period, summary_enc, revision, updated_by) VALUES (${tenant_id}, ${client_id_}, '2026-27-Q1', 'sealed', 1, ${by})`.execute(scope.trx);
      await scope.trx.insertInto('portal_invoices').values({ tenant_id, client_id: client_id_, number: 'INV-1', issued_on: '2026-04-01', due_on: '2026-04-30', lines_enc: 'sealed', net_pence: 100, vat_pence: 20, gross_pence: 120, created_by: by }).execute();
      await scope.trx.insertInto('portal_purchases').values({ tenant_id, kind: 'signing', quantity: 10, amount_pence: 1000, created_by: by }).execute();
      await scope.trx.insertInto('portal_payment_events').values({ tenant_id, event_id: `evt_${org.id}`, type: 'checkout.session.completed' }).execute();
    });
    // Sync hub (0006): a connection, and an import that fills every school data table, the run, its change list and the sync state.
    await asSystem(platform, org.id, (scope) => scope.trx.insertInto('sync_connections').values({ tenant_id: org.id, kind: 'ctf', name: 'MIS export' }).execute());
    const school = emptyBatch('full');
    school.school = { name: org.name };
    school.pupils = [{ misId: 'P1', legalForename: 'Rowan', legalSurname: 'Tenantson', photo: { contentType: 'image/png', data: Buffer.from('photo') } }];
    school.contacts = [{ misId: 'C1', forename: 'Robin', surname: 'Tenantson', links: [{ pupilMisId: 'P1', priority: 1 }] }];
    school.staff = [{ misId: 'S1', forename: 'Sam', surname: 'Staffer' }];
    school.groups = [{ misId: 'G1', kind: 'registration', name: '1A', pupilMisIds: ['P1'], staffMisIds: ['S1'] }];
    school.attendance = [{ pupilMisId: 'P1', date: '2024-09-02', session: 'AM', code: '/' }];
    await runImport(platform, { tenantId: org.id, actor: SYSTEM_ACTOR, meta: systemMeta('test') }, school, { format: 'ctf', source: 'upload:ctf', startedBy: 'test' });
  }
  const result = await sql<{ relname: string }>`
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1`.execute(platform.db.owner);
  tables = result.rows.map((r) => r.relname).filter((t) => !NOT_CUSTOMER_DATA.has(t));
});

afterAll(async () => platform?.close());

describe('row-level security over every customer table', () => {
  it('finds the customer tables in the catalogue', () => {
    expect(tables).toEqual(expect.arrayContaining(['organisations', 'users', 'audit_events', 'api_tokens']));
  });

  it('has RLS enabled and forced, a tenant column and a policy on each table', async () => {
    const result = await sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; policies: number }>`
      select c.relname, c.relrowsecurity, c.relforcerowsecurity,
             (select count(*) from pg_policy p where p.polrelid = c.oid)::int as policies
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p')`.execute(platform.db.owner);
    for (const table of tables) {
      const row = result.rows.find((r) => r.relname === table);
      expect({ table, rls: row?.relrowsecurity, forced: row?.relforcerowsecurity, hasPolicy: (row?.policies ?? 0) > 0 })
        .toEqual({ table, rls: true, forced: true, hasPolicy: true });
      const column = TENANT_COLUMN[table] ?? 'tenant_id';
      const columns = await sql<{ column_name: string }>`
        select column_name from information_schema.columns where table_schema = 'public' and table_name = ${table}`.execute(platform.db.owner);
      expect(columns.rows.map((c) => c.column_name), `${table} has ${column}`).toContain(column);
    }
  });

  it('keeps unique constraints per tenant', async () => {
    // Global uniqueness is allowed only for random ids and hashes of random secrets.
    const GLOBALLY_UNIQUE = new Set(['id', 'token_hash', 'client_id' /* random OneRoster client ids (0008) */, 'event_id' /* payment providers' event ids (0011) */]);
    const result = await sql<{ table: string; columns: string[] }>`
      select t.relname as table, array_agg(a.attname::text order by a.attnum) as columns
        from pg_index i
        join pg_class t on t.oid = i.indrelid
        join pg_namespace n on n.oid = t.relnamespace
        join pg_attribute a on a.attrelid = t.oid and a.attnum = any(i.indkey)
       where n.nspname = 'public' and i.indisunique
       group by t.relname, i.indexrelid`.execute(platform.db.owner);
    for (const { table, columns } of result.rows.filter((r) => tables.includes(r.table))) {
      const tenantColumn = TENANT_COLUMN[table] ?? 'tenant_id';
      const scoped = columns.includes(tenantColumn) || (columns.length === 1 && GLOBALLY_UNIQUE.has(columns[0]!));
      expect(scoped, `unique (${columns.join(', ')}) on ${table} is per tenant`).toBe(true);
    }
  });

  it('makes every view run with the querying role\'s rights (security_invoker)', async () => {
    const views = await sql<{ relname: string; invoker: boolean }>`
      select c.relname, coalesce('security_invoker=true' = any(c.reloptions), false) as invoker
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'v'`.execute(platform.db.owner);
    expect(views.rows.filter((v) => !v.invoker)).toEqual([]);
  });

  it("shows tenant A none of tenant B's rows in a raw SELECT * of any table", async () => {
    for (const table of tables) {
      const column = TENANT_COLUMN[table] ?? 'tenant_id';
      const seen = await asSystem(platform, a.id, async (scope) =>
        (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(scope.trx)).rows,
      );
      expect(seen.length, `${table} shows A its own rows`).toBeGreaterThan(0);
      expect(seen.filter((row) => row[column] !== a.id), `${table} hides other tenants`).toEqual([]);
      const ownerCount = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${sql.ref(column)} = ${b.id}`.execute(platform.db.owner);
      expect(ownerCount.rows[0]!.n, `${table} does hold rows of B`).toBeGreaterThan(0);
    }
  });

  it('shows nothing at all when no tenant is set', async () => {
    for (const table of tables) {
      const rows = await platform.db.app.transaction().execute(async (trx) =>
        (await sql`select * from ${sql.table(table)}`.execute(trx)).rows,
      );
      expect(rows, table).toEqual([]);
    }
  });

  it("refuses to write a row into another tenant from A's transaction", async () => {
    await expect(
      asSystem(platform, a.id, (scope) =>
        scope.trx.insertInto('users').values({ tenant_id: b.id, email_enc: 'x', email_bidx: 'planted', role: 'admin' }).execute(),
      ),
    ).rejects.toThrow(/row-level security/);
    const planted = await platform.db.owner.selectFrom('users').select('id').where('email_bidx', '=', 'planted').execute();
    expect(planted).toEqual([]);
  });

  it('cannot update or delete another tenant by id either', async () => {
    const result = await asSystem(platform, a.id, (scope) =>
      scope.trx.updateTable('users').set({ role: 'admin' }).where('tenant_id', '=', b.id).executeTakeFirst(),
    );
    expect(Number(result.numUpdatedRows)).toBe(0);
  });

  it('never leaves the tenant on the pooled connection for the next transaction', async () => {
    await asSystem(platform, a.id, async (scope) => {
      const set = await sql<{ t: string }>`select current_setting('app.tenant_id', true) as t`.execute(scope.trx);
      expect(set.rows[0]!.t).toBe(a.id);
    });
    // The pool has one connection, so this runs on the very connection A just used.
    const after = await platform.db.app.transaction().execute(async (trx) => ({
      tenant: (await sql<{ t: string | null }>`select current_setting('app.tenant_id', true) as t`.execute(trx)).rows[0]!.t,
      users: (await trx.selectFrom('users').select('id').execute()).length,
    }));
    expect(after.tenant ?? '').toBe('');
    expect(after.users).toBe(0);
  });

  it('runs the application as a role that owns nothing and cannot bypass RLS', async () => {
    const role = await sql<{ rolsuper: boolean; rolbypassrls: boolean }>`
      select rolsuper, rolbypassrls from pg_roles where rolname = ${APP_ROLE}`.execute(platform.db.owner);
    expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    const owned = await sql<{ n: number }>`select count(*)::int as n from pg_tables where tableowner = ${APP_ROLE}`.execute(platform.db.owner);
    expect(owned.rows[0]!.n).toBe(0);
    const current = await platform.db.app.transaction().execute(async (trx) => (await sql<{ u: string }>`select current_user as u`.execute(trx)).rows[0]!.u);
    expect(current).toBe(APP_ROLE);
  });

  it('gives the application role no access to the platform secrets', async () => {
    await expect(
      platform.db.app.transaction().execute((trx) => sql`select * from platform_secrets`.execute(trx)),
    ).rejects.toThrow(/permission denied/);
  });

  it('lets the application role only append to the audit trail', async () => {
    await expect(
      asSystem(platform, a.id, (scope) => scope.trx.updateTable('audit_events').set({ action: 'x.y' }).execute()),
    ).rejects.toThrow(/permission denied/);
    await expect(
      asSystem(platform, a.id, (scope) => scope.trx.deleteFrom('audit_events').execute()),
    ).rejects.toThrow(/permission denied/);
  });
});
