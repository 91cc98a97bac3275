import crypto from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createPracticeCertificate,
  type PracticeCertificate,
  produceAuditCertificatePdf,
  produceSignedDocument,
  type SignedDocument,
  type SigningEvent,
  verifySignedPdf,
} from './index.ts';
import { contentStreamOffset, makeLetterPdf, pdfsig, pdftotext } from './signing-test-helpers.ts';

/**
 * End to end against an independent verifier: poppler's pdfsig (NSS underneath) must accept what
 * we produce and reject what has been touched. pdfsig reports two separate things:
 *  - "Signature Validation": do the signed bytes match the signature? That is what we assert.
 *  - "Certificate Validation": does the certificate chain to a trusted root? Practice certificates
 *    are self-signed, so it says "Certificate issuer is unknown" — expected, and not asserted on.
 * It also says "Total document signed" / "Not total document signed": whether the byte range
 * reaches the end of the file. Appended bytes leave the signature itself valid, so that line is
 * the only thing pdfsig flags for them (verifySignedPdf treats it as invalid outright).
 */

const PRACTICE = 'Harbour Lane Accountants';
const SIGNER = { name: 'Priya Ramanathan', email: 'priya@example.test' };

let credential: PracticeCertificate;
let original: Buffer;
let produced: SignedDocument;
let events: SigningEvent[];

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

function byteRange(pdf: Buffer): number[] {
  const match = /\/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]/.exec(pdf.toString('latin1'));
  if (!match) throw new Error('no ByteRange');
  return match.slice(1).map(Number);
}

beforeAll(async () => {
  credential = createPracticeCertificate({ practiceName: PRACTICE, practiceId: 'practice-7f3a', validYears: 3 });
  original = await makeLetterPdf(3);
  events = [
    { what: 'Sent for signature', at: new Date('2025-02-03T09:15:00Z'), who: 'Tom Okafor <tom@harbour.example.test>', ipAddress: '198.51.100.23', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0' },
    { what: 'Opened', at: new Date('2025-02-03T18:02:11Z'), who: `${SIGNER.name} <${SIGNER.email}>`, ipAddress: '203.0.113.45', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1' },
    { what: 'Signed', at: new Date('2025-02-03T18:05:40Z'), who: `${SIGNER.name} <${SIGNER.email}>`, ipAddress: '2001:db8:85a3::8a2e:370:7334', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1' },
  ];
  produced = await produceSignedDocument({
    originalPdf: original,
    documentTitle: 'Letter of engagement 2025',
    documentId: 'doc_01HZX4',
    signer: SIGNER,
    signature: { kind: 'typed', text: SIGNER.name },
    events,
    practice: { name: PRACTICE, p12: credential.p12, passphrase: credential.passphrase },
    signedAt: new Date('2025-02-03T18:05:40Z'),
  });
});

describe('produceSignedDocument', () => {
  it('is accepted by pdfsig as a valid signature over the whole document, naming the practice', async () => {
    const report = await pdfsig(produced.signedPdf);
    expect(report).toContain('Signature Validation: Signature is Valid.');
    expect(report).toContain(`Signer Certificate Common Name: ${PRACTICE}`);
    expect(report).toContain('Total document signed');
    expect(report).not.toContain('Not total document signed');
    expect(report).toContain('Signature Type: adbe.pkcs7.detached');
    expect(report).toContain('Signing Hash Algorithm: SHA-256');
    expect(report).toContain('Signing Time: Feb 03 2025 18:05:40');
  });

  it('returns the hashes of the original and of the signed file', () => {
    expect(produced.originalSha256).toBe(crypto.createHash('sha256').update(original).digest('hex'));
    expect(produced.finalSha256).toBe(crypto.createHash('sha256').update(produced.signedPdf).digest('hex'));
    expect(produced.finalSha256).not.toBe(produced.originalSha256);
  });

  it('keeps the original pages and adds the audit certificate after them', async () => {
    const doc = await PDFDocument.load(produced.signedPdf);
    expect(doc.getPageCount()).toBe(4);
    const text = await pdftotext(produced.signedPdf);
    expect(text).toContain('Letter of engagement, page 1 of 3');
    expect(text).toContain('Letter of engagement, page 3 of 3');
    expect(text).toContain(`Signed by ${SIGNER.name}`);
    expect(text).toContain('(UTC)');
    expect(text).toContain('Audit certificate');
    expect(text).toContain(produced.originalSha256);
    expect(text).not.toContain(produced.finalSha256);
    for (const event of events) {
      expect(text).toContain(event.ipAddress!);
      expect(text).toContain(event.at.toISOString());
      expect(text).toContain(event.what);
    }
    expect(text).toContain('Firefox/128.0');
    expect(text).toContain(PRACTICE);
    expect(text).toContain('doc_01HZX4');
  });

  it('verifies with verifySignedPdf, reporting the practice certificate', () => {
    const result = verifySignedPdf(produced.signedPdf);
    expect(result).toMatchObject({ valid: true, signerCommonName: PRACTICE });
    expect(result.reason).toBeUndefined();
    expect(result.signingTime?.toISOString()).toBe('2025-02-03T18:05:40.000Z');
    expect(result.certificateFingerprintSha256).toBe(credential.fingerprintSha256);
    // Cross-check against Node's own X.509 parser rather than our forge-based code alone.
    const nodeFingerprint = new crypto.X509Certificate(credential.certificatePem).fingerprint256.replaceAll(':', '').toLowerCase();
    expect(result.certificateFingerprintSha256).toBe(nodeFingerprint);
  });
});

describe('tampering', () => {
  it('one flipped byte in the first signed range: pdfsig reports a digest mismatch, verify says invalid', async () => {
    const [, firstLength] = byteRange(produced.signedPdf);
    const tampered = flipByte(produced.signedPdf, Math.floor(firstLength! / 2));
    const report = await pdfsig(tampered);
    expect(report).toContain('Signature Validation: Digest Mismatch.');
    expect(report).not.toContain('Signature is Valid');
    expect(verifySignedPdf(tampered)).toMatchObject({ valid: false, reason: expect.stringContaining('changed after it was signed') });
  });

  it('one flipped byte in the second signed range (after the signature) is caught too', async () => {
    const [, , secondStart] = byteRange(produced.signedPdf);
    const tampered = flipByte(produced.signedPdf, secondStart! + 40);
    expect(await pdfsig(tampered)).toContain('Signature Validation: Digest Mismatch.');
    expect(verifySignedPdf(tampered).valid).toBe(false);
  });

  it('a changed byte in a page content stream is caught', async () => {
    const tampered = flipByte(produced.signedPdf, await contentStreamOffset(produced.signedPdf, 0));
    expect(await pdfsig(tampered)).toContain('Signature Validation: Digest Mismatch.');
    expect(verifySignedPdf(tampered)).toMatchObject({ valid: false, reason: expect.stringContaining('digest mismatch') });
  });

  it('appended bytes: pdfsig says "Not total document signed"; verify refuses the file', async () => {
    // An incremental update can add or redraw content without touching the signed bytes.
    const tampered = Buffer.concat([produced.signedPdf, Buffer.from('\n1 0 obj\n<< /Evil true >>\nendobj\n%%EOF\n')]);
    const report = await pdfsig(tampered);
    expect(report).toContain('Not total document signed');
    // The signed ranges themselves are untouched, so pdfsig still calls the signature valid:
    expect(report).toContain('Signature Validation: Signature is Valid.');
    expect(verifySignedPdf(tampered)).toMatchObject({ valid: false, reason: expect.stringContaining('does not cover the whole file') });
  });

  it('a byte changed inside the RSA signature value breaks it', async () => {
    const [, firstLength] = byteRange(produced.signedPdf);
    // /Contents is <30 82 LL LL …> then zero padding; the SignerInfo's signature value is the
    // DER's last field, so a hex digit just before the DER's end is inside it.
    const derLength = 4 + parseInt(produced.signedPdf.toString('latin1', firstLength! + 5, firstLength! + 9), 16);
    const at = firstLength! + 1 + 2 * derLength - 10;
    const tampered = Buffer.from(produced.signedPdf);
    tampered[at] = tampered[at] === 0x30 ? 0x31 : 0x30;
    expect(await pdfsig(tampered)).not.toContain('Signature is Valid');
    expect(verifySignedPdf(tampered)).toMatchObject({ valid: false, reason: expect.stringContaining("does not verify with the signer's certificate") });
  });
});

describe('produceAuditCertificatePdf', () => {
  it('is a standalone, signed PDF with the timeline and both hashes', async () => {
    const { pdf, sha256 } = await produceAuditCertificatePdf({
      documentTitle: 'Letter of engagement 2025',
      documentId: 'doc_01HZX4',
      events,
      originalSha256: produced.originalSha256,
      finalSha256: produced.finalSha256,
      practice: { name: PRACTICE, p12: credential.p12, passphrase: credential.passphrase },
      issuedAt: new Date('2025-02-03T18:06:00Z'),
    });
    expect(sha256).toBe(crypto.createHash('sha256').update(pdf).digest('hex'));
    const text = await pdftotext(pdf);
    expect(text).toContain('Audit certificate');
    expect(text).toContain(produced.originalSha256);
    expect(text).toContain(produced.finalSha256);
    for (const event of events) {
      expect(text).toContain(event.ipAddress!);
      expect(text).toContain(event.userAgent!.slice(0, 40));
    }
    expect(text).not.toContain('Letter of engagement, page 1'); // the document itself is not in it
    const report = await pdfsig(pdf);
    expect(report).toContain('Signature Validation: Signature is Valid.');
    expect(report).toContain('Total document signed');
    expect(verifySignedPdf(pdf).valid).toBe(true);
  });
});
