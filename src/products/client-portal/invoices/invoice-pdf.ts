import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from 'pdf-lib';
import { formatPence, type VatRate } from '../payments/money.ts';
import { wrapText } from '../signing/text-layout.ts';
import { toFontSafeText } from '../signing/winansi.ts';
import type { TenantScope } from '../../../platform/tenancy/tenant-scope.ts';
import { getClient } from '../clients.ts';
import { getInvoice, type Invoice } from './invoices.ts';
import { organisationName } from '../../../platform/organisations/name.ts';

/**
 * An invoice as a PDF, for the client's records and the practice's: who it is from and to, the
 * lines with their VAT, the VAT summary per rate and the total, and where it stands (due, paid
 * with its payment reference, which makes it the receipt, or void). Drawn with the standard fonts,
 * as the signing engine's pages are: no font files, and a name the fonts cannot show becomes '?'
 * rather than failing (the exact text stays in the portal).
 */
export interface InvoicePdfInput {
  invoice: Invoice;
  practiceName: string;
  clientName: string;
  /** When the PDF is made (printed at the foot). */
  at: Date;
}

/** What the PDF needs, read in the caller's transaction (404 for an invoice the caller cannot see). */
export async function loadInvoicePdfInput(scope: TenantScope, invoiceId: string): Promise<InvoicePdfInput> {
  const invoice = await getInvoice(scope, invoiceId);
  const client = await getClient(scope, invoice.clientId);
  const practiceName = await organisationName(scope);
  return { invoice, clientName: client.name, practiceName: practiceName, at: new Date() };
}

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 50;
const SIZE = 9.5;
const LEADING = 13;
const INK = rgb(0.1, 0.1, 0.1);
const GREY = rgb(0.4, 0.4, 0.4);
const RATE_LABEL: Record<VatRate, string> = { standard: 'Standard', reduced: 'Reduced', zero: 'Zero', exempt: 'Exempt', 'outside-scope': 'Outside scope' };

/** Columns of the lines table: left edge and width (numbers are right-aligned within). */
const COLUMNS = {
  description: { x: MARGIN, width: 200 },
  quantity: { x: MARGIN + 205, width: 40 },
  unit: { x: MARGIN + 250, width: 70 },
  rate: { x: MARGIN + 325, width: 55 },
  net: { x: MARGIN + 385, width: 55 },
  vat: { x: MARGIN + 440, width: 55 },
};

const longDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
const calendar = (isoDate: string) => longDate.format(new Date(`${isoDate}T12:00:00Z`));

export async function renderInvoicePdf(input: InvoicePdfInput): Promise<Buffer> {
  const { invoice } = input;
  const doc = await PDFDocument.create();
  doc.setTitle(`Invoice ${invoice.number}`);
  doc.setCreator('Custos client portal');
  doc.setCreationDate(input.at);
  const fonts = { regular: await doc.embedFont(StandardFonts.Helvetica), bold: await doc.embedFont(StandardFonts.HelveticaBold) };
  const pages: PDFPage[] = [];
  let page!: PDFPage;
  let y = 0;

  const draw = (text: string, x: number, font: PDFFont, size = SIZE, color = INK) => page.drawText(toFontSafeText(text, font), { x, y, size, font, color });
  const drawRight = (text: string, right: number, font: PDFFont = fonts.regular) => {
    const safe = toFontSafeText(text, font);
    page.drawText(safe, { x: right - font.widthOfTextAtSize(safe, SIZE), y, size: SIZE, font, color: INK });
  };
  const tableHeader = () => {
    draw('Description', COLUMNS.description.x, fonts.bold);
    drawRight('Qty', COLUMNS.quantity.x + COLUMNS.quantity.width, fonts.bold);
    drawRight('Unit price', COLUMNS.unit.x + COLUMNS.unit.width, fonts.bold);
    drawRight('VAT rate', COLUMNS.rate.x + COLUMNS.rate.width, fonts.bold);
    drawRight('Net', COLUMNS.net.x + COLUMNS.net.width, fonts.bold);
    drawRight('VAT', COLUMNS.vat.x + COLUMNS.vat.width, fonts.bold);
    y -= 4;
    page.drawLine({ start: { x: MARGIN, y }, end: { x: A4[0] - MARGIN, y }, thickness: 0.5, color: GREY });
    y -= LEADING;
  };
  const newPage = (withTable: boolean) => {
    page = doc.addPage(A4);
    pages.push(page);
    y = A4[1] - MARGIN;
    if (pages.length > 1) {
      draw(`Invoice ${invoice.number} (continued)`, MARGIN, fonts.bold, 11);
      y -= 2 * LEADING;
      if (withTable) tableHeader();
    }
  };
  const ensure = (height: number, withTable = false) => {
    if (y - height < MARGIN + 30) newPage(withTable);
  };

  newPage(false);
  draw(input.practiceName, MARGIN, fonts.bold, 14);
  y -= 2 * LEADING;
  draw(`Invoice ${invoice.number}`, MARGIN, fonts.bold, 18);
  y -= 2 * LEADING;
  const facts: [string, string][] = [
    ['To', input.clientName],
    ['Issued', calendar(invoice.issuedOn)],
    ['Due', calendar(invoice.dueOn)],
  ];
  for (const [label, value] of facts) {
    draw(label, MARGIN, fonts.bold);
    draw(value, MARGIN + 60, fonts.regular);
    y -= LEADING;
  }
  y -= LEADING;
  tableHeader();

  for (const line of invoice.lines) {
    const wrapped = wrapText(toFontSafeText(line.description, fonts.regular), fonts.regular, SIZE, COLUMNS.description.width);
    ensure(wrapped.length * LEADING, true);
    drawRight(line.quantity.replace(/\.00$/, ''), COLUMNS.quantity.x + COLUMNS.quantity.width);
    drawRight(formatPence(line.unitPricePence), COLUMNS.unit.x + COLUMNS.unit.width);
    drawRight(line.vatRate === 'standard' || line.vatRate === 'reduced' ? `${line.ratePercent}%` : RATE_LABEL[line.vatRate], COLUMNS.rate.x + COLUMNS.rate.width);
    drawRight(formatPence(line.netPence), COLUMNS.net.x + COLUMNS.net.width);
    drawRight(formatPence(line.vatPence), COLUMNS.vat.x + COLUMNS.vat.width);
    for (const text of wrapped) {
      draw(text, COLUMNS.description.x, fonts.regular);
      y -= LEADING;
    }
  }

  // Totals, then the VAT summary per rate, kept together.
  ensure((4 + invoice.vatSummary.length) * LEADING);
  y -= 4;
  page.drawLine({ start: { x: COLUMNS.unit.x, y: y + LEADING - 2 }, end: { x: A4[0] - MARGIN, y: y + LEADING - 2 }, thickness: 0.5, color: GREY });
  const totals: [string, number, PDFFont][] = [
    ['Net', invoice.netPence, fonts.regular],
    ['VAT', invoice.vatPence, fonts.regular],
    ['Total', invoice.grossPence, fonts.bold],
  ];
  for (const [label, pence, font] of totals) {
    drawRight(label, COLUMNS.net.x + COLUMNS.net.width, font);
    drawRight(formatPence(pence), COLUMNS.vat.x + COLUMNS.vat.width, font);
    y -= LEADING;
  }
  y -= LEADING;
  draw('VAT summary', MARGIN, fonts.bold);
  y -= LEADING;
  for (const row of invoice.vatSummary) {
    draw(`${RATE_LABEL[row.vatRate]} (${row.ratePercent}%)`, MARGIN, fonts.regular);
    drawRight(`net ${formatPence(row.netPence)}`, COLUMNS.net.x + COLUMNS.net.width);
    drawRight(`VAT ${formatPence(row.vatPence)}`, COLUMNS.vat.x + COLUMNS.vat.width);
    y -= LEADING;
  }

  y -= LEADING;
  ensure(3 * LEADING);
  const standing =
    invoice.status === 'paid'
      ? `PAID on ${longDate.format(new Date(invoice.paidAt!))}${invoice.paymentReference ? `, payment reference ${invoice.paymentReference}` : ''}. This invoice is also your receipt.`
      : invoice.status === 'void'
        ? 'VOID: this invoice was cancelled and is not to be paid.'
        : `Please pay ${formatPence(invoice.grossPence)} by ${calendar(invoice.dueOn)}, online through your portal.`;
  for (const text of wrapText(toFontSafeText(standing, fonts.bold), fonts.bold, SIZE, A4[0] - 2 * MARGIN)) {
    draw(text, MARGIN, fonts.bold);
    y -= LEADING;
  }

  pages.forEach((p, i) => {
    const foot = toFontSafeText(`${input.practiceName} - invoice ${invoice.number} - page ${i + 1} of ${pages.length} - made ${input.at.toISOString().slice(0, 10)}`, fonts.regular);
    p.drawText(foot, { x: MARGIN, y: MARGIN - 20, size: 7.5, font: fonts.regular, color: GREY });
  });
  return Buffer.from(await doc.save());
}
