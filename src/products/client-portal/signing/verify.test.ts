import fc from 'fast-check';
import { PDFDocument } from 'pdf-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPracticeCertificate, type PracticeCertificate, signPdf, verifySignedPdf } from './index.ts';
import { makeLetterPdf, pdfsig } from './signing-test-helpers.ts';

let credential: PracticeCertificate;
let otherCredential: PracticeCertificate;
let signed: Buffer;

const signOptions = (c: PracticeCertificate) => ({
  p12: c.p12,
  passphrase: c.passphrase,
  reason: 'Approved',
  location: 'Client portal',
  contactInfo: 'office@example.test',
  name: 'Ada Morgan',
  signingTime: new Date('2025-05-01T08:00:00Z'),
});

beforeAll(async () => {
  credential = createPracticeCertificate({ practiceName: 'Morgan & Vale', practiceId: 'p-1', validYears: 2 });
  otherCredential = createPracticeCertificate({ practiceName: 'Morgan & Vale', practiceId: 'p-2', validYears: 2 });
  ({ signedPdf: signed } = await signPdf(await makeLetterPdf(1), signOptions(credential)));
});

describe('verifySignedPdf', () => {
  it('accepts a file signed with signPdf', () => {
    expect(verifySignedPdf(signed)).toMatchObject({
      valid: true,
      signerCommonName: 'Morgan & Vale',
      certificateFingerprintSha256: credential.fingerprintSha256,
    });
  });

  it('reports which certificate signed, so a same-named forger is told apart by fingerprint', async () => {
    const { signedPdf } = await signPdf(await makeLetterPdf(1), signOptions(otherCredential));
    const result = verifySignedPdf(signedPdf);
    expect(result.valid).toBe(true);
    expect(result.signerCommonName).toBe('Morgan & Vale');
    expect(result.certificateFingerprintSha256).toBe(otherCredential.fingerprintSha256);
    expect(result.certificateFingerprintSha256).not.toBe(credential.fingerprintSha256);
  });

  it('catches a renamed certificate inside the signature, which pdfsig alone accepts', async () => {
    // The CMS signs the document digest, not the certificate it carries. Rewriting the practice's
    // name everywhere in the signature value (certificate issuer and subject, SignerInfo issuer;
    // same length, so no offset moves) leaves a signature pdfsig calls valid under the new name.
    // Our check of the self-signature catches it, and the fingerprint pin would as well.
    const hex = (text: string) => Buffer.from(text).toString('hex');
    const tampered = Buffer.from(signed.toString('latin1').replaceAll(hex('Morgan & Vale'), hex('Morgan & Vile')), 'latin1');
    const report = await pdfsig(tampered);
    expect(report).toContain('Signer Certificate Common Name: Morgan & Vile');
    expect(report).toContain('Signature Validation: Signature is Valid.');
    expect(verifySignedPdf(tampered)).toMatchObject({
      valid: false,
      reason: expect.stringContaining('not an intact self-signed practice certificate'),
    });
  });

  it('says "no signature" for an unsigned PDF', async () => {
    expect(verifySignedPdf(await makeLetterPdf(1))).toEqual({
      valid: false,
      reason: 'the file carries no digital signature',
      signerCommonName: null,
      signingTime: null,
      certificateFingerprintSha256: null,
    });
  });

  it('says "unsigned placeholder" for a file whose /Contents was never filled', async () => {
    const doc = await PDFDocument.load(await makeLetterPdf(1));
    const { pdflibAddPlaceholder } = await import('@signpdf/placeholder-pdf-lib');
    pdflibAddPlaceholder({ pdfDoc: doc, reason: 'r', contactInfo: 'c', name: 'n', location: 'l' });
    const withPlaceholder = Buffer.from(await doc.save());
    // The placeholder's ByteRange is "/ByteRange [0 /********** …]", which is not numeric.
    expect(verifySignedPdf(withPlaceholder)).toMatchObject({ valid: false, reason: 'the signature byte range is malformed' });
  });

  it('refuses a truncated file', () => {
    expect(verifySignedPdf(signed.subarray(0, signed.length - 10))).toMatchObject({ valid: false });
  });

  it('never throws on garbage, and never calls garbage valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const result = verifySignedPdf(bytes);
        expect(result.valid).toBe(false);
        expect(typeof result.reason).toBe('string');
      }),
      { numRuns: 300 },
    );
  });

  it('calls any change outside the signature value invalid, and never throws', () => {
    const match = /\/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]/.exec(signed.toString('latin1'))!;
    const [holeStart, holeEnd] = [Number(match[2]), Number(match[3])];
    const outsideHole = fc.nat({ max: signed.length - 1 - (holeEnd - holeStart) }).map((n) => (n < holeStart ? n : n + (holeEnd - holeStart)));
    fc.assert(
      fc.property(fc.array(fc.tuple(outsideHole, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const copy = Buffer.from(signed);
        for (const [at, xor] of edits) copy[at] = copy[at]! ^ xor;
        expect(verifySignedPdf(copy).valid).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws when bytes inside the signature value are changed', () => {
    // The /Contents hole is not (and cannot be) covered by the signature, and parts of the CMS
    // are unsigned (e.g. its outer digest-algorithm list), so some edits there leave a valid
    // signature: the byte-exact check is the caller's stored SHA-256. Here: no throw, ever.
    const match = /\/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]/.exec(signed.toString('latin1'))!;
    const [holeStart, holeEnd] = [Number(match[2]), Number(match[3])];
    fc.assert(
      fc.property(fc.integer({ min: holeStart, max: holeEnd - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Buffer.from(signed);
        copy[at] = copy[at]! ^ xor;
        expect(typeof verifySignedPdf(copy).valid).toBe('boolean');
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on garbage spliced into the signature value', () => {
    const match = /\/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]/.exec(signed.toString('latin1'))!;
    const [holeStart, holeEnd] = [Number(match[2]) + 1, Number(match[3]) - 1];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        const copy = Buffer.from(signed);
        copy.write(hex.padEnd(holeEnd - holeStart, '0'), holeStart, 'latin1');
        expect(verifySignedPdf(copy).valid).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('answers "no file" for non-bytes instead of throwing', () => {
    expect(verifySignedPdf(undefined as unknown as Uint8Array)).toMatchObject({ valid: false, reason: 'no file was given' });
    expect(verifySignedPdf('%PDF-1.7' as unknown as Uint8Array)).toMatchObject({ valid: false });
  });
});
