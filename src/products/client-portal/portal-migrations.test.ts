import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../../migrations/index.ts';
import { openDatabase, type Database } from '../../platform/db/database.ts';
import { migrateToLatest } from '../../platform/db/migrate.ts';

// Portal migrations that change what existing rows mean are run over rows written before them.
const GB = 1024 ** 3;
let db: Database;
beforeAll(async () => {
  db = await openDatabase({});
});
afterAll(async () => {
  await db?.close();
});

describe('portal migrations over existing rows', () => {
  it('takes paid storage out of the lasting quota and dates its year from the payment; pending and signing rows stay as they were', async () => {
    const migrator = new Migrator({ db: db.owner, provider: { getMigrations: async () => migrations } });
    const before = await migrator.migrateTo('0014_portal_requests');
    expect(before.error).toBeUndefined();
    // 0015: storage bought moves out of the lasting quota and gets a year. A practice that bought
    // storage before it must end up with the same quota today, counted once.

    const owner = db.owner;
    const practice = (await sql<{ id: string }>`INSERT INTO organisations (kind, name) VALUES ('practice', 'Fenwick & Rowe (test)') RETURNING id`.execute(owner)).rows[0]!.id;
    const other = (await sql<{ id: string }>`INSERT INTO organisations (kind, name) VALUES ('practice', 'Quill Ledger (test)') RETURNING id`.execute(owner)).rows[0]!.id;
    // 5 GB to start with, plus 2 GB and 3 GB bought (added to the quota, as before 0015).
    await sql`INSERT INTO portal_practice (tenant_id, storage_quota_bytes) VALUES (${practice}, ${10 * GB}), (${other}, ${5 * GB})`.execute(owner);
    const paidAt = '2026-03-01T10:00:00Z';
    await sql`INSERT INTO portal_purchases (tenant_id, kind, quantity, amount_pence, status, paid_at, created_by) VALUES
      (${practice}, 'storage', 2, 400, 'paid', ${paidAt}, 'test'),
      (${practice}, 'storage', 3, 600, 'paid', ${paidAt}, 'test'),
      (${practice}, 'storage', 7, 1400, 'pending', NULL, 'test'),
      (${practice}, 'signing', 10, 1500, 'paid', ${paidAt}, 'test')`.execute(owner);

    // 0016: documents are marked as added by the practice or by a client user, from their creator.
    const userIn = async (tenant: string, role: string, email: string) =>
      (await sql<{ id: string }>`INSERT INTO users (tenant_id, email_enc, email_bidx, role) VALUES (${tenant}, ${email}, ${email}, ${role}) RETURNING id`.execute(owner)).rows[0]!.id;
    const clientUserId = await userIn(practice, 'client', 'client-user');
    const staffId = await userIn(practice, 'staff', 'staff-user');
    const otherClientUserId = await userIn(other, 'client', 'other-client-user');
    const client = (await sql<{ id: string }>`INSERT INTO portal_clients (tenant_id, kind, name_enc, name_bidx, created_by) VALUES (${practice}, 'individual', 'n', 'n', 'test') RETURNING id`.execute(owner)).rows[0]!.id;
    for (const [title, by] of [['by-client', `user:${clientUserId}`], ['by-staff', `user:${staffId}`], ['by-token', 'token:x'], ['by-other-practice-user', `user:${otherClientUserId}`]]) {
      await sql`INSERT INTO portal_documents (tenant_id, client_id, title_enc, created_by) VALUES (${practice}, ${client}, ${title}, ${by})`.execute(owner);
    }

    const applied = await migrateToLatest(owner);
    expect(applied).toEqual(expect.arrayContaining(['0015_portal_storage_terms', '0016_portal_document_added_by']));
    const documents = await sql<{ title_enc: string; added_by_client: boolean }>`SELECT title_enc, added_by_client FROM portal_documents ORDER BY title_enc`.execute(owner);
    expect(documents.rows).toEqual([
      { title_enc: 'by-client', added_by_client: true },
      { title_enc: 'by-other-practice-user', added_by_client: false },
      { title_enc: 'by-staff', added_by_client: false },
      { title_enc: 'by-token', added_by_client: false },
    ]);

    const quotas = await sql<{ tenant_id: string; storage_quota_bytes: string }>`SELECT tenant_id, storage_quota_bytes::text AS storage_quota_bytes FROM portal_practice`.execute(owner);
    expect(Object.fromEntries(quotas.rows.map((r) => [r.tenant_id, Number(r.storage_quota_bytes)]))).toEqual({ [practice]: 5 * GB, [other]: 5 * GB });
    const purchases = await sql<{ kind: string; quantity: string; status: string; expires_at: Date | null }>`
      SELECT kind, quantity::text AS quantity, status, expires_at FROM portal_purchases ORDER BY portal_purchases.quantity`.execute(owner);
    expect(purchases.rows.map((r) => [r.kind, Number(r.quantity), r.status, r.expires_at && new Date(r.expires_at).toISOString()])).toEqual([
      ['storage', 2, 'paid', '2027-03-01T10:00:00.000Z'],
      ['storage', 3, 'paid', '2027-03-01T10:00:00.000Z'],
      ['storage', 7, 'pending', null],
      ['signing', 10, 'paid', null],
    ]);
    // Row-level security is back in force on the tables the migrations lifted it from.
    const forced = await sql<{ relname: string; relforcerowsecurity: boolean }>`
      SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN ('portal_purchases', 'portal_practice', 'portal_documents', 'users') ORDER BY relname`.execute(owner);
    expect(forced.rows).toEqual([
      { relname: 'portal_documents', relforcerowsecurity: true },
      { relname: 'portal_practice', relforcerowsecurity: true },
      { relname: 'portal_purchases', relforcerowsecurity: true },
      { relname: 'users', relforcerowsecurity: true },
    ]);
  });
});
