import { sql, type Kysely } from 'kysely';
import { tenantTableSql } from '../src/platform/db/rls.ts';

/** The catalogue of encrypted blobs (documents, photos, exports); the bytes live in the blob store. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE blobs (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
      purpose text NOT NULL,
      size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
      sha256 text NOT NULL,
      key_version integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantTableSql('blobs')}
  `,
    )
    .execute(db);
}
