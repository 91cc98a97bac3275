import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../platform/errors.ts';
import { certificateInfo, createPracticeCertificate, SigningCredentialError, signPdf, verifySignedPdf } from './index.ts';
import { makeLetterPdf, pdfsig } from './signing-test-helpers.ts';

describe('createPracticeCertificate', () => {
  const created = createPracticeCertificate({ practiceName: 'Ødegård & Łukasz Partners', practiceId: 'practice-12', validYears: 5 });
  const x509 = new crypto.X509Certificate(created.certificatePem);

  it('makes a self-signed RSA certificate for document signing, read back by Node (not just forge)', () => {
    expect(x509.subject).toContain('CN=Ødegård & Łukasz Partners');
    expect(x509.subject).toContain('O=Ødegård & Łukasz Partners');
    expect(x509.subject).toContain('serialNumber=practice-12');
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(x509.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.36'])); // Node lists the EKU here
    expect(x509.ca).toBe(false);
    expect(created.fingerprintSha256).toBe(x509.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('asserts digitalSignature and nonRepudiation key usage', () => {
    // Node has no accessor for keyUsage bits; read the extension from the DER: OID 2.5.29.15,
    // critical, BIT STRING 03 02 06 C0 (bits 0 and 1 set).
    const der = x509.raw;
    const keyUsage = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x06, 0xc0]);
    expect(der.indexOf(keyUsage)).toBeGreaterThan(0);
  });

  it('is valid now and for the requested number of years', () => {
    const notBefore = new Date(x509.validFrom);
    const notAfter = new Date(x509.validTo);
    expect(notBefore.getTime()).toBeLessThanOrEqual(Date.now());
    expect(notAfter.getUTCFullYear() - notBefore.getUTCFullYear()).toBe(5);
    expect(created.notAfter.getTime()).toBe(notAfter.getTime());
  });

  it('uses a fresh random serial and passphrase every time', () => {
    const again = createPracticeCertificate({ practiceName: 'Ødegård & Łukasz Partners', practiceId: 'practice-12', validYears: 5 });
    expect(new crypto.X509Certificate(again.certificatePem).serialNumber).not.toBe(x509.serialNumber);
    expect(again.passphrase).not.toBe(created.passphrase);
    expect(again.fingerprintSha256).not.toBe(created.fingerprintSha256);
  });

  it('reads the credential back with certificateInfo', () => {
    expect(certificateInfo(created.p12, created.passphrase)).toMatchObject({
      commonName: 'Ødegård & Łukasz Partners',
      organization: 'Ødegård & Łukasz Partners',
      fingerprintSha256: created.fingerprintSha256,
      notAfter: created.notAfter,
    });
  });

  it('signs verifiably under a non-ASCII practice name', async () => {
    // node-forge double-encodes UTF8String issuer names in the SignerInfo (signer.ts); without the
    // workaround pdfsig reports "Unknown Validation Failure" and shows no signer at all.
    const { signedPdf } = await signPdf(await makeLetterPdf(1), {
      p12: created.p12,
      passphrase: created.passphrase,
      reason: 'Approved',
      location: 'Client portal',
      contactInfo: '',
      name: 'Zoë',
      signingTime: new Date('2025-06-01T12:00:00Z'),
    });
    const report = await pdfsig(signedPdf);
    expect(report).toContain('Signer Certificate Common Name: Ødegård & Łukasz Partners');
    expect(report).toContain('Signature Validation: Signature is Valid.');
    expect(verifySignedPdf(signedPdf)).toMatchObject({ valid: true, signerCommonName: 'Ødegård & Łukasz Partners' });
  });

  it('refuses a wrong passphrase or a corrupt file with a credential error', () => {
    expect(() => certificateInfo(created.p12, 'wrong')).toThrow(SigningCredentialError);
    expect(() => certificateInfo(Buffer.from('not a p12'), created.passphrase)).toThrow(SigningCredentialError);
  });

  it('names bad requests', () => {
    try {
      createPracticeCertificate({ practiceName: ' ', practiceId: '', validYears: 0 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors?.map((e) => e.field)).toEqual(['practiceName', 'practiceId', 'validYears']);
    }
  });
});
