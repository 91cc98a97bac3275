import { pdflibAddPlaceholder } from '@signpdf/placeholder-pdf-lib';
import { SignPdf } from '@signpdf/signpdf';
import type { PDFDocument } from 'pdf-lib';
import { z } from 'zod';
import { sha256Hex } from './hash.ts';
import { parseField, signedAtSchema } from './inputs.ts';
import { loadPdfForSigning } from './load.ts';
import { pdfLiteralTextString } from './pdf-text-string.ts';
import { saveDocument } from './save.ts';
import { PracticeCredentialSigner } from './signer.ts';
import type { StampedArea } from './stamp.ts';

/**
 * Seals a PDF with the practice's credential: an invisible-data signature whose ByteRange covers
 * every byte of the file except the hex /Contents that holds the signature itself, so any later
 * change — an edited byte, an appended incremental update — breaks it.
 *
 * SubFilter: adbe.pkcs7.detached, not ETSI.CAdES.detached. The placeholder library would write
 * either name, but the name is a claim about the CMS inside. PAdES baseline (ETSI EN 319 142-1)
 * requires the ESS signing-certificate-v2 signed attribute and forbids the CMS signing-time
 * attribute (the time goes in /M instead); node-forge cannot encode signing-certificate-v2 at all,
 * and the signer puts signing-time in. Labelling that CMS "ETSI.CAdES.detached" would make strict
 * PAdES validators (EU DSS) reject or downgrade it, while adbe.pkcs7.detached with SHA-256 is
 * exactly what it is and is verified by Acrobat, poppler/pdfsig and DSS alike.
 */
export const SIGNATURE_SUBFILTER = 'adbe.pkcs7.detached';

/**
 * Bytes reserved for the PKCS#7. Ours is about 2 KiB (a 3072-bit certificate and signature plus
 * the signed attributes); 8 KiB leaves room for a longer chain if a practice ever brings a CA-issued
 * certificate. The placeholder is hex, so it costs twice this in the file.
 */
const SIGNATURE_BYTES = 8192;

export interface SignOptions {
  p12: Uint8Array;
  passphrase: string;
  /** Shown by readers in the signature panel, e.g. "Approved by the client". */
  reason: string;
  location: string;
  contactInfo: string;
  /** The signer's name as the signature dictionary's /Name (the certificate names the practice). */
  name: string;
  signingTime: Date;
}

export interface SignedPdf {
  signedPdf: Buffer;
  sha256: string;
}

const dictText = z.string().max(1000);

export async function signPdf(pdf: Uint8Array, options: SignOptions): Promise<SignedPdf> {
  checkSignOptions(options);
  const doc = await loadPdfForSigning(pdf, 'pdf');
  return signDocument(doc, options);
}

export function checkSignOptions(options: SignOptions): void {
  for (const field of ['reason', 'location', 'contactInfo', 'name'] as const) parseField(field, dictText, options[field]);
  parseField('signingTime', signedAtSchema, options.signingTime);
}

/**
 * Adds the placeholder to an open document, writes it out and signs it. `widget` puts the
 * signature field over the visible stamp; without it the field is invisible on the first page.
 */
export async function signDocument(doc: PDFDocument, options: SignOptions, widget?: StampedArea): Promise<SignedPdf> {
  pdflibAddPlaceholder({
    ...(widget ? { pdfPage: widget.page, widgetRect: widget.rect } : { pdfDoc: doc }),
    reason: pdfLiteralTextString(options.reason),
    location: pdfLiteralTextString(options.location),
    contactInfo: pdfLiteralTextString(options.contactInfo),
    name: pdfLiteralTextString(options.name),
    signingTime: options.signingTime,
    signatureLength: SIGNATURE_BYTES,
    subFilter: SIGNATURE_SUBFILTER,
    appName: 'Custos client portal',
  });
  doc.setModificationDate(options.signingTime);
  const withPlaceholder = await saveDocument(doc);
  // A fresh SignPdf per call: the package's default instance keeps `lastSignature` as shared state.
  const signedPdf = await new SignPdf().sign(
    withPlaceholder,
    new PracticeCredentialSigner(options.p12, options.passphrase),
    options.signingTime,
  );
  return { signedPdf, sha256: sha256Hex(signedPdf) };
}
