import crypto from 'node:crypto';
import forge from 'node-forge';
import { ValidationError } from '../../../platform/errors.ts';

/**
 * A practice's signing credential: one RSA key and a self-signed X.509 certificate per practice,
 * packed as PKCS#12, the usual container for a signing key with its certificate.
 *
 * The certificate is self-signed on purpose: the portal vouches for the document's integrity
 * (nothing changed since the practice's platform sealed it) rather than claiming a qualified
 * identity; PDF readers therefore show the signature as intact but the signer as "not trusted"
 * (see verify.ts and the tests for the distinction).
 */

/** 3072-bit: NIST SP 800-57 puts 2048-bit RSA at its limit after 2030, and these certificates live for years. */
const RSA_BITS = 3072;
/** X.520 upper bounds for commonName and organizationName. */
const MAX_NAME_CHARS = 64;
/** id-kp-documentSigning (RFC 9336); emailProtection is what NSS-based readers (poppler, Firefox) look for. */
const OID_KP_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';

export interface PracticeCertificateRequest {
  practiceName: string;
  /** Put in the subject's serialNumber attribute so two practices with the same name stay distinguishable. */
  practiceId: string;
  validYears: number;
}

export interface PracticeCertificate {
  /**
   * PKCS#12 holding the private key and certificate, encrypted under `passphrase`. The caller must
   * seal both p12 and passphrase with the tenant's data key before storing them: the passphrase
   * alone is not a secret once it sits next to the file.
   */
  p12: Buffer;
  passphrase: string;
  certificatePem: string;
  /** Lower-case hex SHA-256 of the certificate's DER: what the verification page pins. */
  fingerprintSha256: string;
  notAfter: Date;
}

export interface CertificateInfo {
  commonName: string;
  organization: string | null;
  serialNumber: string;
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  certificatePem: string;
}

/** The stored credential could not be opened: wrong passphrase, corrupt file, or no key in it. */
export class SigningCredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningCredentialError';
  }
}

export function createPracticeCertificate(request: PracticeCertificateRequest): PracticeCertificate {
  const practiceName = request.practiceName.trim();
  const problems = [];
  if (practiceName.length === 0) problems.push({ field: 'practiceName', reason: 'is required' });
  if (request.practiceId.trim().length === 0 || request.practiceId.length > 64) {
    problems.push({ field: 'practiceId', reason: 'must be 1 to 64 characters' });
  }
  if (!Number.isInteger(request.validYears) || request.validYears < 1 || request.validYears > 10) {
    problems.push({ field: 'validYears', reason: 'must be a whole number of years from 1 to 10' });
  }
  if (problems.length > 0) throw new ValidationError(problems);

  // Node's native generator: forge's pure-JS one takes seconds for 3072 bits.
  const { privateKey: privatePem } = crypto.generateKeyPairSync('rsa', {
    modulusLength: RSA_BITS,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);

  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  // A minute's grace for clock skew between machines; whole seconds, as X.509 times carry no more,
  // so the notAfter we return is exactly the certificate's.
  const notBefore = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + request.validYears);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;

  const name = truncate(practiceName, MAX_NAME_CHARS);
  // UTF8String, not forge's default PrintableString, so "Zoë & Łukasz LLP" survives intact.
  const subject = [
    { name: 'commonName', value: name, valueTagClass: forge.asn1.Type.UTF8 },
    { name: 'organizationName', value: name, valueTagClass: forge.asn1.Type.UTF8 },
    { name: 'serialNumber', value: truncate(request.practiceId.trim(), MAX_NAME_CHARS), valueTagClass: forge.asn1.Type.UTF8 },
  ] as unknown as forge.pki.CertificateField[]; // @types/node-forge mistypes valueTagClass as a tag class
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, nonRepudiation: true },
    { name: 'extKeyUsage', emailProtection: true, [OID_KP_DOCUMENT_SIGNING]: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());

  // 32 random bytes: the PKCS#12 encryption is a second lock; the first is the tenant key seal.
  const passphrase = crypto.randomBytes(32).toString('base64url');
  const p12Asn1 = forge.pkcs12.toPkcs12Asn1(privateKey, [cert], passphrase, {
    algorithm: 'aes256',
    friendlyName: name,
  });
  const p12 = Buffer.from(forge.asn1.toDer(p12Asn1).getBytes(), 'binary');

  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    p12,
    passphrase,
    certificatePem: forge.pki.certificateToPem(cert),
    fingerprintSha256: crypto.createHash('sha256').update(der).digest('hex'),
    notAfter,
  };
}

/** Reads the certificate out of a stored credential (and proves the passphrase opens it). */
export function certificateInfo(p12: Uint8Array, passphrase: string): CertificateInfo {
  const cert = openCredential(p12, passphrase).certificate;
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    commonName: subjectValue(cert.subject, 'commonName') ?? '',
    organization: subjectValue(cert.subject, 'organizationName'),
    serialNumber: cert.serialNumber,
    fingerprintSha256: crypto.createHash('sha256').update(der).digest('hex'),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
    certificatePem: forge.pki.certificateToPem(cert),
  };
}

/** Opens a PKCS#12 and returns the key with the certificate that matches it. */
export function openCredential(
  p12: Uint8Array,
  passphrase: string,
): { privateKey: forge.pki.rsa.PrivateKey; certificate: forge.pki.Certificate } {
  let parsed: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(Buffer.from(p12).toString('binary'));
    parsed = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase);
  } catch {
    // forge's messages mix "invalid password" with parse failures; neither is the caller's input.
    throw new SigningCredentialError('the practice signing credential could not be opened (corrupt file or wrong passphrase)');
  }
  const keyBag = parsed.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!]?.[0];
  const certBags = parsed.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  const privateKey = keyBag?.key as forge.pki.rsa.PrivateKey | undefined;
  if (!privateKey) throw new SigningCredentialError('the practice signing credential holds no private key');
  const certificate = certBags
    .map((bag) => bag.cert)
    .find((c): c is forge.pki.Certificate => {
      const pub = c?.publicKey as forge.pki.rsa.PublicKey | undefined;
      return pub !== undefined && pub.n.equals(privateKey.n) && pub.e.equals(privateKey.e);
    });
  if (!certificate) throw new SigningCredentialError('the practice signing credential holds no certificate for its key');
  return { privateKey, certificate };
}

/** Reads a subject attribute, decoding UTF8String/BMPString (forge hands back raw bytes). */
export function subjectValue(subject: forge.pki.Certificate['subject'], name: string): string | null {
  const field = subject.attributes.find((a) => a.name === name);
  if (!field || typeof field.value !== 'string') return null;
  const tag = (field as { valueTagClass?: number }).valueTagClass;
  if (tag === forge.asn1.Type.UTF8) return forge.util.decodeUtf8(field.value);
  if (tag === forge.asn1.Type.BMPSTRING && field.value.length % 2 === 0) {
    return Buffer.from(field.value, 'binary').swap16().toString('utf16le');
  }
  return field.value;
}

/** 16 random bytes with the top bit cleared: positive, unique, and within RFC 5280's 20-octet limit. */
function randomSerialHex(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}
