import { type PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from 'pdf-lib';
import { ValidationError } from '../../../platform/errors.ts';
import {
  documentIdSchema,
  documentTitleSchema,
  parseField,
  practiceNameSchema,
  sha256HexSchema,
  type SigningEvent,
  signingEventSchema,
} from './inputs.ts';
import { MAX_AUDIT_EVENTS, MAX_AUDIT_FIELD_CHARS } from './limits.ts';
import { loadPdfForSigning } from './load.ts';
import { saveDocument } from './save.ts';
import { limitLength, wrapText } from './text-layout.ts';
import { toFontSafeText } from './winansi.ts';

/**
 * The audit certificate: who did what to a document, when, and from where, with the SHA-256 of
 * the file that was sent for signature. It is drawn either onto the end of the signed document
 * (so it travels with it and is covered by the signature) or into a standalone PDF for the
 * evidence pack, which can also state the final file's SHA-256 — a file cannot contain its own hash.
 */
export interface AuditCertificate {
  documentTitle: string;
  documentId: string;
  practiceName: string;
  originalSha256: string;
  /** Only on the standalone certificate: the SHA-256 of the signed file it describes. */
  finalSha256?: string;
  events: SigningEvent[];
}

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 56;
const LABEL_WIDTH = 110;
const BODY_SIZE = 9;
const LEADING = 12.5;
const GREY = rgb(0.35, 0.35, 0.35);

export async function appendAuditCertificate(pdf: Uint8Array, certificate: AuditCertificate): Promise<Buffer> {
  checkAuditCertificate(certificate);
  const doc = await loadPdfForSigning(pdf, 'pdf');
  await drawAuditCertificate(doc, certificate);
  return saveDocument(doc);
}

export function checkAuditCertificate(certificate: AuditCertificate): void {
  parseField('documentTitle', documentTitleSchema, certificate.documentTitle);
  parseField('documentId', documentIdSchema, certificate.documentId);
  parseField('practiceName', practiceNameSchema, certificate.practiceName);
  parseField('originalSha256', sha256HexSchema, certificate.originalSha256);
  if (certificate.finalSha256 !== undefined) parseField('finalSha256', sha256HexSchema, certificate.finalSha256);
  if (!Array.isArray(certificate.events) || certificate.events.length === 0) {
    throw new ValidationError([{ field: 'events', reason: 'must list at least one event' }]);
  }
  if (certificate.events.length > MAX_AUDIT_EVENTS) {
    throw new ValidationError([{ field: 'events', reason: `must list at most ${MAX_AUDIT_EVENTS} events` }]);
  }
  certificate.events.forEach((event, i) => parseField(`events.${i}`, signingEventSchema, event));
}

/** Adds the certificate's pages to the end of `doc` (A4, paginated as the timeline needs). */
export async function drawAuditCertificate(doc: PDFDocument, certificate: AuditCertificate): Promise<void> {
  const fonts = {
    regular: await doc.embedFont(StandardFonts.Helvetica),
    bold: await doc.embedFont(StandardFonts.HelveticaBold),
    mono: await doc.embedFont(StandardFonts.Courier),
  };
  const writer = new PageWriter(doc, fonts);

  writer.row('Document', certificate.documentTitle);
  writer.row('Document ID', certificate.documentId);
  writer.row('Practice', certificate.practiceName);
  writer.row('Original SHA-256', certificate.originalSha256, fonts.mono);
  if (certificate.finalSha256 !== undefined) {
    writer.row('Signed file SHA-256', certificate.finalSha256, fonts.mono);
  } else {
    writer.note(
      'This certificate is part of the signed file and is covered by its digital signature. A file cannot contain ' +
        'its own hash: the SHA-256 of the signed file is recorded by the practice and checked on the verification page.',
    );
  }
  writer.heading('Timeline (all times UTC)');
  const events = [...certificate.events].sort((a, b) => a.at.getTime() - b.at.getTime());
  events.forEach((event, i) => {
    writer.eventTitle(`${i + 1}. ${event.what}`);
    writer.row('When', event.at.toISOString());
    writer.row('By', event.who);
    writer.row('IP address', event.ipAddress ?? 'not recorded');
    writer.row('User agent', event.userAgent ?? 'not recorded');
  });
  writer.finish(certificate.documentId);
}

/** A top-to-bottom text cursor that starts a new page whenever the next line would not fit. */
class PageWriter {
  readonly #pages: PDFPage[] = [];
  #page!: PDFPage;
  #y = 0;

  constructor(
    private readonly doc: PDFDocument,
    private readonly fonts: { regular: PDFFont; bold: PDFFont; mono: PDFFont },
  ) {
    this.#newPage();
  }

  row(label: string, value: string, valueFont: PDFFont = this.fonts.regular): void {
    const valueWidth = A4[0] - 2 * MARGIN - LABEL_WIDTH;
    const text = toFontSafeText(limitLength(value, MAX_AUDIT_FIELD_CHARS), valueFont);
    const lines = wrapText(text, valueFont, BODY_SIZE, valueWidth);
    lines.forEach((line, i) => {
      this.#ensureSpace(LEADING);
      if (i === 0) this.#draw(label, MARGIN, this.fonts.bold, BODY_SIZE);
      this.#draw(line, MARGIN + LABEL_WIDTH, valueFont, BODY_SIZE);
      this.#y -= LEADING;
    });
  }

  note(text: string): void {
    this.#y -= 4;
    for (const line of wrapText(toFontSafeText(text, this.fonts.regular), this.fonts.regular, 8, A4[0] - 2 * MARGIN)) {
      this.#ensureSpace(11);
      this.#draw(line, MARGIN, this.fonts.regular, 8, GREY);
      this.#y -= 11;
    }
  }

  heading(text: string): void {
    this.#y -= 10;
    this.#ensureSpace(40); // never leave a heading alone at the foot of a page
    this.#draw(text, MARGIN, this.fonts.bold, 12);
    this.#y -= 20;
  }

  eventTitle(text: string): void {
    this.#y -= 6;
    this.#ensureSpace(LEADING * 3);
    const safe = toFontSafeText(limitLength(text, MAX_AUDIT_FIELD_CHARS), this.fonts.bold);
    for (const line of wrapText(safe, this.fonts.bold, 10, A4[0] - 2 * MARGIN)) {
      this.#ensureSpace(LEADING + 1);
      this.#draw(line, MARGIN, this.fonts.bold, 10);
      this.#y -= LEADING + 1;
    }
  }

  /** Footers go on last, once the page count is known. */
  finish(documentId: string): void {
    const total = this.#pages.length;
    const id = toFontSafeText(limitLength(documentId, 100), this.fonts.regular);
    this.#pages.forEach((page, i) => {
      page.drawText(`Audit certificate - document ${id} - page ${i + 1} of ${total}`, {
        x: MARGIN,
        y: MARGIN / 2,
        size: 7,
        font: this.fonts.regular,
        color: GREY,
      });
    });
  }

  #newPage(): void {
    this.#page = this.doc.addPage(A4);
    this.#pages.push(this.#page);
    this.#y = A4[1] - MARGIN;
    const title = this.#pages.length === 1 ? 'Audit certificate' : 'Audit certificate (continued)';
    this.#draw(title, MARGIN, this.fonts.bold, 18);
    this.#y -= 32;
  }

  #ensureSpace(height: number): void {
    if (this.#y - height < MARGIN) this.#newPage();
  }

  #draw(text: string, x: number, font: PDFFont, size: number, color = rgb(0, 0, 0)): void {
    this.#page.drawText(toFontSafeText(text, font), { x, y: this.#y - size, size, font, color });
  }
}
