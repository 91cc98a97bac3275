import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem, createTestOrganisation, type TestOrganisation } from '../../../test/factories.ts';
import { startTestPlatform, type TestPlatform } from '../../../test/harness.ts';
import { cancelOrganisation } from '../../platform/organisations/settings.ts';
import { saveBlob } from '../../platform/storage/blobs.ts';
import { systemMeta } from '../../platform/tenancy/tenant-scope.ts';
import { createClient } from './clients.ts';
import { CLOSED_PRACTICE_RETENTION_DAYS, purgeClosedPractices } from './retention.ts';

let platform: TestPlatform;
let closedLongAgo: TestOrganisation;
let closedRecently: TestOrganisation;
let active: TestOrganisation;

/** A client with one stored document, as an upload leaves them. */
async function fill(org: TestOrganisation): Promise<string> {
  return asSystem(platform, org.id, async (scope) => {
    const client = await createClient(scope, { kind: 'individual', name: 'Kept Or Not' });
    const blob = await saveBlob(platform.blobs, scope, 'portal.document', Readable.from([Buffer.from('%PDF-1.7 retention')]));
    const document = await scope.trx.insertInto('portal_documents').values({ tenant_id: org.id, client_id: client.id, title_enc: 'x', created_by: 'test', latest_version: 1 }).returning('id').executeTakeFirstOrThrow();
    await scope.trx
      .insertInto('portal_document_versions')
      .values({ tenant_id: org.id, client_id: client.id, document_id: document.id, version: 1, blob_id: blob.id, filename_enc: 'x', content_type: 'application/pdf', size_bytes: blob.sizeBytes, sha256: blob.sha256, scan: 'not_scanned', uploaded_by: 'test' })
      .execute();
    await scope.trx.insertInto('portal_request_templates').values({ tenant_id: org.id, name: 'Year end', questions: JSON.stringify([]), created_by: 'test' }).execute();
    return blob.id;
  });
}

const holdings = (org: TestOrganisation) =>
  asSystem(platform, org.id, async (scope) => ({
    clients: (await scope.trx.selectFrom('portal_clients').select('id').execute()).length,
    documents: (await scope.trx.selectFrom('portal_documents').select('id').execute()).length,
    templates: (await scope.trx.selectFrom('portal_request_templates').select('id').execute()).length,
    blobs: (await scope.trx.selectFrom('blobs').select('id').execute()).length,
  }));

beforeAll(async () => {
  platform = await startTestPlatform();
  closedLongAgo = await createTestOrganisation(platform, { kind: 'practice' });
  closedRecently = await createTestOrganisation(platform, { kind: 'practice' });
  active = await createTestOrganisation(platform, { kind: 'practice' });
  for (const org of [closedLongAgo, closedRecently, active]) await fill(org);
  for (const org of [closedLongAgo, closedRecently]) await cancelOrganisation(platform, org.id, systemMeta('test'));
  await sql`UPDATE organisations SET cancelled_at = now() - make_interval(days => ${CLOSED_PRACTICE_RETENTION_DAYS + 1}) WHERE id = ${closedLongAgo.id}`.execute(platform.db.owner);
});
afterAll(async () => platform?.close());

describe('retention of closed practices', () => {
  it('purges a practice closed longer than the retention period, files included, and audits it', async () => {
    const reports = await purgeClosedPractices(platform);
    expect(reports).toEqual([{ practiceId: closedLongAgo.id, clients: 1, files: 1 }]);
    expect(await holdings(closedLongAgo)).toEqual({ clients: 0, documents: 0, templates: 0, blobs: 0 });
    const jobs = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'blobs.remove' AND data->>'tenantId' = ${closedLongAgo.id}`.execute(platform.db.owner);
    expect(jobs.rows[0]!.n).toBe(1);
    const audit = await asSystem(platform, closedLongAgo.id, (scope) => scope.trx.selectFrom('audit_events').select('action').where('action', '=', 'portal.practice_purged').execute());
    expect(audit).toHaveLength(1);
  });

  it('keeps a practice closed only recently, and every active one', async () => {
    expect(await holdings(closedRecently)).toEqual({ clients: 1, documents: 1, templates: 1, blobs: 1 });
    expect(await holdings(active)).toEqual({ clients: 1, documents: 1, templates: 1, blobs: 1 });
  });

  it('finds nothing more to do when run again', async () => {
    expect(await purgeClosedPractices(platform)).toEqual([]);
  });
});
