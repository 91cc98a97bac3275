import crypto from 'node:crypto';
import forge from 'node-forge';
import { subjectValue } from './certificate.ts';
import { MAX_PDF_BYTES } from './limits.ts';

/**
 * Checks the signature this engine puts on a document, for the public verification page: anyone
 * holding a document id and a file can learn whether the file is byte-for-byte what the practice
 * sealed. It answers only "is the signature intact, and by which certificate": the caller also
 * compares the file's SHA-256 with the one it stored, and the certificate fingerprint with the
 * practice's, because a forger can produce an intact signature with a certificate of their own.
 *
 * Trust in the certificate (a chain to a root) is deliberately out of scope: practice certificates
 * are self-signed, which is why pdfsig says "Signature is Valid" but "Certificate issuer is unknown".
 *
 * Never throws: garbage, truncated files and hostile ASN.1 all come back as valid: false with a reason.
 */
export interface VerificationResult {
  valid: boolean;
  reason?: string;
  signerCommonName: string | null;
  signingTime: Date | null;
  certificateFingerprintSha256: string | null;
}

/** The stamp and audit pages add to the original; allow them on top of the input limit. */
export const MAX_SIGNED_PDF_BYTES = MAX_PDF_BYTES + 5 * 1024 * 1024;

const DIGESTS: Record<string, string> = {
  [forge.pki.oids.sha256!]: 'sha256',
  [forge.pki.oids.sha384!]: 'sha384',
  [forge.pki.oids.sha512!]: 'sha512',
};
/** PKCS#1 v1.5 only; RSASSA-PSS would need its parameters read, and we never produce it. */
const RSA_SIGNATURE_OIDS = new Set(['1.2.840.113549.1.1.1', '1.2.840.113549.1.1.11', '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13']);

class Invalid extends Error {}

// node-forge's types omit the options object its fromDer accepts, and RDNAttributesAsArray.
const fromDer = forge.asn1.fromDer as unknown as (
  bytes: string,
  options: { strict: boolean; parseAllBytes: boolean; decodeBitStrings: boolean },
) => forge.asn1.Asn1;
const rdnAttributesAsArray = (forge.pki as unknown as { RDNAttributesAsArray(rdn: forge.asn1.Asn1): forge.pki.CertificateField[] })
  .RDNAttributesAsArray;

export function verifySignedPdf(pdf: Uint8Array): VerificationResult {
  const result: VerificationResult = { valid: false, signerCommonName: null, signingTime: null, certificateFingerprintSha256: null };
  try {
    check(pdf, result);
    result.valid = true;
    return result;
  } catch (error) {
    result.valid = false;
    result.reason = error instanceof Invalid ? error.message : 'the signature could not be read (malformed data)';
    return result;
  }
}

function check(input: Uint8Array, result: VerificationResult): void {
  if (!(input instanceof Uint8Array) || input.length === 0) throw new Invalid('no file was given');
  if (input.length > MAX_SIGNED_PDF_BYTES) throw new Invalid(`the file is larger than ${MAX_SIGNED_PDF_BYTES} bytes`);
  const pdf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);

  const [start, firstLength, secondStart, secondLength] = lastByteRange(pdf);
  // The signed ranges must be the whole file bar the signature's own hole: starting at byte 0 and
  // ending at the last byte is what makes an appended incremental update (or junk) detectable.
  if (start !== 0 || firstLength <= 0 || secondStart <= firstLength || secondLength < 0) {
    throw new Invalid('the signature byte range is malformed');
  }
  if (secondStart + secondLength !== pdf.length) {
    throw new Invalid('the signature does not cover the whole file (bytes were added or removed after signing)');
  }
  // The hole is exactly the hex string <...> of /Contents: nothing else may hide in unsigned bytes.
  const hole = pdf.subarray(firstLength, secondStart);
  if (hole[0] !== 0x3c || hole[hole.length - 1] !== 0x3e || !/^[0-9a-fA-F]*$/.test(hole.toString('latin1', 1, hole.length - 1))) {
    throw new Invalid('the unsigned part of the file is not just the signature value');
  }
  const precedingKey = pdf.toString('latin1', Math.max(0, firstLength - 20), firstLength);
  if (!/\/Contents\s*$/.test(precedingKey)) throw new Invalid('the byte range does not frame the signature contents');
  const signature = trimPadding(Buffer.from(hole.toString('latin1', 1, hole.length - 1), 'hex'));
  if (signature.length === 0) throw new Invalid('the signature is empty (an unsigned placeholder)');

  const signedRanges = Buffer.concat([pdf.subarray(0, firstLength), pdf.subarray(secondStart)]);
  checkCms(signature, signedRanges, result);
}

/** The last /ByteRange [a b c d] in the file: the newest signature, the one that must cover everything. */
function lastByteRange(pdf: Buffer): [number, number, number, number] {
  const at = pdf.lastIndexOf('/ByteRange');
  if (at === -1) throw new Invalid('the file carries no digital signature');
  const match = /^\/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]/.exec(pdf.toString('latin1', at, at + 80));
  if (!match) throw new Invalid('the signature byte range is malformed');
  return [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])];
}

/** /Contents is zero-padded to the placeholder's size; the DER itself says how long it is. */
function trimPadding(der: Buffer): Buffer {
  if (der.length < 2 || der[0] !== 0x30) return der;
  const first = der[1]!;
  let length: number;
  let header = 2;
  if (first < 0x80) {
    length = first;
  } else {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4 || der.length < 2 + octets) return der;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[2 + i]!;
    header += octets;
  }
  const end = header + length;
  if (end > der.length) throw new Invalid('the signature value is truncated');
  if (der.subarray(end).some((b) => b !== 0)) throw new Invalid('the signature value has trailing data');
  return der.subarray(0, end);
}

function checkCms(der: Buffer, signedRanges: Buffer, result: VerificationResult): void {
  let message: { type?: string; rawCapture?: Record<string, unknown> };
  try {
    // forge keeps each BIT STRING's original bytes when it decodes one, so re-encoding a
    // certificate below reproduces it exactly (the fingerprint depends on that).
    const asn1 = fromDer(der.toString('binary'), { strict: true, parseAllBytes: true, decodeBitStrings: true });
    message = forge.pkcs7.messageFromAsn1(asn1) as unknown as typeof message;
  } catch {
    throw new Invalid('the signature is not a readable PKCS#7 / CMS structure');
  }
  const capture = message.rawCapture;
  if (!capture || message.type !== forge.pki.oids.signedData) throw new Invalid('the signature is not CMS SignedData');
  if (capture.content !== undefined) throw new Invalid('the signature is not detached (unexpected embedded content)');

  const digestName = DIGESTS[forge.asn1.derToOid(capture.digestAlgorithm as string)];
  if (!digestName) throw new Invalid('the signature uses an unsupported digest algorithm');
  const signatureAlgorithm = forge.asn1.derToOid((capture.signatureAlgorithm as forge.asn1.Asn1[])[0]!.value as string);
  if (!RSA_SIGNATURE_OIDS.has(signatureAlgorithm)) throw new Invalid('the signature uses an unsupported algorithm');

  const certificate = signerCertificate(capture);
  result.certificateFingerprintSha256 = crypto.createHash('sha256').update(certificate.der).digest('hex');
  result.signerCommonName = certificate.commonName;

  const attributes = capture.authenticatedAttributes as forge.asn1.Asn1[] | undefined;
  if (!attributes || attributes.length === 0) throw new Invalid('the signature has no signed attributes');
  const messageDigest = attributeValue(attributes, forge.pki.oids.messageDigest!);
  const contentType = attributeValue(attributes, forge.pki.oids.contentType!);
  const signingTime = attributeValue(attributes, forge.pki.oids.signingTime!);
  if (!messageDigest || messageDigest.type !== forge.asn1.Type.OCTETSTRING) throw new Invalid('the signature has no message digest');
  if (!contentType || forge.asn1.derToOid(contentType.value as string) !== forge.pki.oids.data) {
    throw new Invalid('the signature does not sign PDF data');
  }
  if (signingTime) result.signingTime = readTime(signingTime);

  const actualDigest = crypto.createHash(digestName).update(signedRanges).digest();
  if (!actualDigest.equals(Buffer.from(messageDigest.value as string, 'binary'))) {
    throw new Invalid('the document was changed after it was signed (digest mismatch)');
  }
  // RFC 5652 §5.4: the signature is over the DER of the attributes as a SET OF, not as [0] IMPLICIT.
  const signedAttributes = Buffer.from(
    forge.asn1.toDer(forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SET, true, attributes)).getBytes(),
    'binary',
  );
  const signatureValue = Buffer.from(capture.signature as string, 'binary');
  if (!crypto.verify(digestName, signedAttributes, certificate.publicKey, signatureValue)) {
    throw new Invalid("the signature does not verify with the signer's certificate");
  }
}

/** The certificate the SignerInfo names by serial number, read with Node's X.509 parser. */
function signerCertificate(capture: Record<string, unknown>) {
  const certificates = (capture.certificates as forge.asn1.Asn1 | undefined)?.value as forge.asn1.Asn1[] | undefined;
  if (!certificates || certificates.length === 0) throw new Invalid('the signature carries no certificate');
  const serial = Buffer.from(capture.serial as string, 'binary').toString('hex').replace(/^0+/, '').toUpperCase();
  for (const certificateAsn1 of certificates) {
    const der = Buffer.from(forge.asn1.toDer(certificateAsn1).getBytes(), 'binary');
    let x509: crypto.X509Certificate;
    try {
      x509 = new crypto.X509Certificate(der);
    } catch {
      continue;
    }
    if (x509.serialNumber.replace(/^0+/, '').toUpperCase() !== serial) continue;
    // The certificate travels beside the signed attributes, not inside them (adbe.pkcs7.detached
    // has no signing-certificate attribute), so its name could be edited without touching the
    // signature. Practice certificates are self-signed, so an intact one verifies under its own
    // key; a CA-issued certificate would need chain building, which this engine does not do.
    if (!x509.verify(x509.publicKey)) {
      throw new Invalid("the signer's certificate is not an intact self-signed practice certificate (altered, or issued by a CA)");
    }
    return { der, publicKey: x509.publicKey, commonName: commonNameOf(certificateAsn1) };
  }
  throw new Invalid("the signer's certificate is missing from the signature");
}

function commonNameOf(certificateAsn1: forge.asn1.Asn1): string | null {
  try {
    const tbs = (certificateAsn1.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
    // TBSCertificate: [0] version (optional), serial, signature algorithm, issuer, validity, subject…
    const offset = tbs[0]!.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
    const subject = { attributes: rdnAttributesAsArray(tbs[offset + 4]!) } as forge.pki.Certificate['subject'];
    return subjectValue(subject, 'commonName');
  } catch {
    return null;
  }
}

function attributeValue(attributes: forge.asn1.Asn1[], oid: string): forge.asn1.Asn1 | undefined {
  for (const attribute of attributes) {
    const [type, values] = attribute.value as forge.asn1.Asn1[];
    if (type && values && forge.asn1.derToOid(type.value as string) === oid) return (values.value as forge.asn1.Asn1[])[0];
  }
  return undefined;
}

function readTime(node: forge.asn1.Asn1): Date | null {
  try {
    if (node.type === forge.asn1.Type.UTCTIME) return forge.asn1.utcTimeToDate(node.value as string);
    if (node.type === forge.asn1.Type.GENERALIZEDTIME) return forge.asn1.generalizedTimeToDate(node.value as string);
  } catch {
    // fall through: a signing time we cannot read is reported as unknown, not as tampering
  }
  return null;
}
