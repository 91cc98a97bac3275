import { recordAudit } from '../../../platform/audit/audit-writer.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { requirePractice } from '../practice.ts';
import { createPracticeCertificate, type PracticeCredential } from '../signing/index.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/**
 * The practice's signing credential, made on first use: an RSA key and self-signed certificate
 * in PKCS#12, sealed with the practice's data key together with its passphrase. It is opened only
 * for the moment of signing, inside the transaction that records the signature.
 */
export async function practiceCredential(scope: TenantScope): Promise<PracticeCredential & { fingerprintSha256: string }> {
  await requirePractice(scope);
  const orgName = await organisationName(scope);
  // Locked: two first signatures at once make one credential, not two.
  const row = await scope.trx
    .selectFrom('portal_practice')
    .select(['signing_p12_enc', 'signing_passphrase_enc', 'signing_fingerprint'])
    .where('tenant_id', '=', scope.tenantId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (row.signing_p12_enc && row.signing_passphrase_enc && row.signing_fingerprint) {
    return {
      name: orgName,
      p12: Buffer.from(scope.cipher.open('portal.signing.p12', row.signing_p12_enc), 'base64'),
      passphrase: scope.cipher.open('portal.signing.passphrase', row.signing_passphrase_enc),
      fingerprintSha256: row.signing_fingerprint,
    };
  }
  const made = createPracticeCertificate({ practiceName: orgName, practiceId: scope.tenantId, validYears: 5 });
  await scope.trx
    .updateTable('portal_practice')
    .set({
      signing_p12_enc: scope.cipher.seal('portal.signing.p12', made.p12.toString('base64')),
      signing_passphrase_enc: scope.cipher.seal('portal.signing.passphrase', made.passphrase),
      signing_fingerprint: made.fingerprintSha256,
      signing_not_after: made.notAfter,
      updated_at: new Date(),
    })
    .where('tenant_id', '=', scope.tenantId)
    .execute();
  await recordAudit(scope, {
    action: 'portal.signing_certificate_created',
    target: { type: 'organisation', id: scope.tenantId },
    changes: { fingerprintSha256: { after: made.fingerprintSha256 }, notAfter: { after: made.notAfter.toISOString() } },
  });
  return { name: orgName, p12: made.p12, passphrase: made.passphrase, fingerprintSha256: made.fingerprintSha256 };
}
