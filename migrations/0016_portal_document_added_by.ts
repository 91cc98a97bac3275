import { sql, type Kysely } from 'kysely';

/**
 * Who put a document in a client's area: the practice or one of the client's users. A client user
 * may add versions only to documents client users added; a document the practice put there (a
 * draft of the accounts, a letter) is the practice's to change. Existing documents are marked from
 * their creator's role; the update spans every practice, so row-level security is lifted from the
 * two tables for this transaction only (the owner runs migrations).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE portal_documents ADD COLUMN added_by_client boolean NOT NULL DEFAULT false;

    ALTER TABLE portal_documents NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE users NO FORCE ROW LEVEL SECURITY;
    UPDATE portal_documents d
       SET added_by_client = true
      FROM users u
     WHERE d.created_by = 'user:' || u.id::text AND u.tenant_id = d.tenant_id AND u.role = 'client';
    ALTER TABLE portal_documents FORCE ROW LEVEL SECURITY;
    ALTER TABLE users FORCE ROW LEVEL SECURITY;
  `,
    )
    .execute(db);
}
