import { once } from 'node:events';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';

/**
 * The practice's invoice list as an .xlsx, streamed row by row (exceljs's WorkbookWriter) so a
 * long history never sits in memory as a whole workbook.
 *
 * Money goes in as numbers of pounds with a £ format, so the accountant can add and filter it;
 * each value is pence / 100 taken from the integer, and the totals are summed in pence first, so
 * no float drift creeps in. Dates are real dates.
 *
 * Formula injection: a client name like "=HYPERLINK(…)" must stay text. Every text value is
 * written as a string cell (exceljs makes a formula only from a { formula } object, never from a
 * string), and the text columns carry the Text number format "@", so even retyping such a cell in
 * Excel keeps it text. The only formulas in the file are our own totals.
 */

export interface InvoiceRow {
  number: string;
  client: string;
  /** A calendar date: 'YYYY-MM-DD' or a Date (its UTC date is used). */
  issued: string | Date;
  due: string | Date;
  status: string;
  netPence: number;
  vatPence: number;
  grossPence: number;
  paidAt: Date | null;
}

export interface InvoicesWorkbookSummary {
  rowCount: number;
  netPence: number;
  vatPence: number;
  grossPence: number;
}

const TEXT = '@';
const POUNDS = '"£"#,##0.00;-"£"#,##0.00';
const DATE = 'dd/mm/yyyy';
const DATE_TIME = 'dd/mm/yyyy hh:mm';

const COLUMNS: Partial<ExcelJS.Column>[] = [
  { header: 'Number', key: 'number', width: 14, style: { numFmt: TEXT } },
  { header: 'Client', key: 'client', width: 32, style: { numFmt: TEXT } },
  { header: 'Issued', key: 'issued', width: 12, style: { numFmt: DATE } },
  { header: 'Due', key: 'due', width: 12, style: { numFmt: DATE } },
  { header: 'Status', key: 'status', width: 12, style: { numFmt: TEXT } },
  { header: 'Net', key: 'net', width: 14, style: { numFmt: POUNDS } },
  { header: 'VAT', key: 'vat', width: 14, style: { numFmt: POUNDS } },
  { header: 'Gross', key: 'gross', width: 14, style: { numFmt: POUNDS } },
  { header: 'Paid at (UK time)', key: 'paidAt', width: 18, style: { numFmt: DATE_TIME } },
];

/** Excel dates have no time zone; a calendar date is stored as that day's UTC midnight, which exceljs writes unshifted. */
function calendarDate(value: string | Date): Date {
  if (value instanceof Date) return new Date(Date.UTC(value.getUTCFullYear(), value.getUTCMonth(), value.getUTCDate()));
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!match) throw new TypeError(`not a YYYY-MM-DD date: ${value}`);
  return new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
}

const londonParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** The wall-clock time in the UK (BST in summer), since a UTC time would read an hour out half the year. */
function ukWallClock(instant: Date): Date {
  const part = Object.fromEntries(londonParts.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  return new Date(Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!));
}

function pounds(pence: number): number {
  if (!Number.isSafeInteger(pence)) throw new TypeError(`amounts must be whole pence, got ${pence}`);
  return pence / 100;
}

/**
 * Writes the workbook to `output` and ends it. If reading the rows fails part-way, `output` is
 * destroyed with that error (an HTTP reply is then cut off rather than ending in a file that
 * looks complete) and the error is rethrown.
 */
export async function writeInvoicesWorkbook(
  rows: AsyncIterable<InvoiceRow> | Iterable<InvoiceRow>,
  output: Writable,
): Promise<InvoicesWorkbookSummary> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: output, useStyles: true, useSharedStrings: false });
  workbook.creator = 'Custos';
  const sheet = workbook.addWorksheet('Invoices', { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = COLUMNS;
  sheet.getRow(1).font = { bold: true };
  sheet.autoFilter = { from: 'A1', to: 'I1' };

  const summary: InvoicesWorkbookSummary = { rowCount: 0, netPence: 0, vatPence: 0, grossPence: 0 };
  try {
    for await (const invoice of rows) {
      sheet
        .addRow({
          number: String(invoice.number),
          client: String(invoice.client),
          issued: calendarDate(invoice.issued),
          due: calendarDate(invoice.due),
          status: String(invoice.status),
          net: pounds(invoice.netPence),
          vat: pounds(invoice.vatPence),
          gross: pounds(invoice.grossPence),
          paidAt: invoice.paidAt ? ukWallClock(invoice.paidAt) : null,
        })
        .commit();
      summary.rowCount += 1;
      summary.netPence += invoice.netPence;
      summary.vatPence += invoice.vatPence;
      summary.grossPence += invoice.grossPence;
      // Let a slow reader (a download over a poor line) hold us back instead of buffering the file.
      if (output.writableNeedDrain) await once(output, 'drain');
    }

    const last = summary.rowCount + 1;
    // Formulas, so the totals follow if the accountant edits a figure; with the exact result cached
    // so every reader (and our test) sees the right number without recalculating.
    const total = (column: string, pence: number) =>
      summary.rowCount === 0 ? 0 : { formula: `SUM(${column}2:${column}${last})`, result: pounds(pence) };
    const totalsRow = sheet.addRow({
      number: 'Total',
      net: total('F', summary.netPence),
      vat: total('G', summary.vatPence),
      gross: total('H', summary.grossPence),
    });
    totalsRow.font = { bold: true };
    totalsRow.commit();
    sheet.commit();
    await workbook.commit();
  } catch (error) {
    output.destroy(error as Error);
    throw error;
  }
  return summary;
}
