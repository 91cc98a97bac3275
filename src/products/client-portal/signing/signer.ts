import forge from 'node-forge';
import { Signer } from '@signpdf/signpdf';
import { openCredential } from './certificate.ts';

/**
 * Makes the detached PKCS#7 (CMS SignedData) that goes into the PDF's /Contents.
 *
 * This does what @signpdf/signer-p12's P12Signer does, with one fix that matters to us. node-forge
 * keeps a parsed certificate's UTF8String name values as raw UTF-8 bytes, then UTF-8-encodes them
 * a second time when it writes the SignerInfo's issuerAndSerialNumber (forge issue #847). For a
 * practice called "Zoë & Co" the SignerInfo then names an issuer no certificate has, and pdfsig
 * reports "Unknown Validation Failure" without even showing the signer. P12Signer offers no hook
 * between opening the PKCS#12 and adding the signer, so we open it ourselves (certificate.ts) and
 * hand forge the issuer with its values decoded, which it re-encodes to the original bytes.
 *
 * The signed attributes and their order are P12Signer's: contentType, signingTime, messageDigest.
 */
export class PracticeCredentialSigner extends Signer {
  readonly #p12: Uint8Array;
  readonly #passphrase: string;

  constructor(p12: Uint8Array, passphrase: string) {
    super();
    this.#p12 = p12;
    this.#passphrase = passphrase;
  }

  override async sign(signedRanges: Buffer, signingTime?: Date): Promise<Buffer> {
    const { privateKey, certificate } = openCredential(this.#p12, this.#passphrase);
    const p7 = forge.pkcs7.createSignedData();
    p7.content = forge.util.createBuffer(signedRanges.toString('binary'));
    p7.addCertificate(certificate);
    p7.addSigner({
      key: privateKey,
      // issuer + serial instead of `certificate`, so forge does not re-encode the names itself.
      issuer: decodedNameAttributes(certificate.issuer.attributes),
      serialNumber: certificate.serialNumber,
      digestAlgorithm: forge.pki.oids.sha256!,
      authenticatedAttributes: [
        { type: forge.pki.oids.contentType!, value: forge.pki.oids.data! },
        // forge encodes a Date as UTCTime (GeneralizedTime from 2050), as RFC 5652 asks.
        { type: forge.pki.oids.signingTime!, value: (signingTime ?? new Date()) as unknown as string },
        { type: forge.pki.oids.messageDigest! },
      ],
    } as unknown as Parameters<typeof p7.addSigner>[0]);
    p7.sign({ detached: true });
    return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
  }
}

/** Undoes forge's read-side omission so its write side produces the certificate's own bytes. */
function decodedNameAttributes(attributes: forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  return attributes.map((attribute) =>
    (attribute.valueTagClass as number | undefined) === forge.asn1.Type.UTF8 && typeof attribute.value === 'string'
      ? { ...attribute, value: forge.util.decodeUtf8(attribute.value) }
      : attribute,
  );
}
