import { PassThrough, Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { writeInvoicesWorkbook, type InvoiceRow } from './excel.ts';

/** A Writable that keeps what it is given, for reading the file back. */
function collector(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

async function readBack(bytes: Buffer): Promise<ExcelJS.Worksheet> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ExcelJS.Buffer);
  const sheet = workbook.getWorksheet('Invoices');
  if (!sheet) throw new Error('no Invoices sheet');
  return sheet;
}

const invoices: InvoiceRow[] = [
  { number: 'INV-1001', client: 'Hollis & Marsh Ltd', issued: '2025-03-03', due: '2025-04-02', status: 'paid', netPence: 120_000, vatPence: 24_000, grossPence: 144_000, paidAt: new Date('2025-07-15T08:30:00Z') },
  { number: 'INV-1002', client: 'Fenwick Bakery', issued: new Date('2025-03-10T00:00:00Z'), due: '2025-04-09', status: 'open', netPence: 33_333, vatPence: 6_667, grossPence: 40_000, paidAt: null },
  { number: 'INV-1003', client: 'Quill Studio', issued: '2025-01-31', due: '2025-03-02', status: 'paid', netPence: 10, vatPence: 2, grossPence: 12, paidAt: new Date('2025-01-31T23:59:00Z') },
];

async function* slowly(rows: InvoiceRow[]): AsyncIterable<InvoiceRow> {
  for (const row of rows) {
    await new Promise((resolve) => setImmediate(resolve));
    yield row;
  }
}

describe('writeInvoicesWorkbook', () => {
  it('reads back with the right numbers, dates and totals', async () => {
    const out = collector();
    const summary = await writeInvoicesWorkbook(slowly(invoices), out.stream);
    expect(summary).toEqual({ rowCount: 3, netPence: 153_343, vatPence: 30_669, grossPence: 184_012 });

    const sheet = await readBack(out.bytes());
    expect(sheet.getRow(1).values).toEqual([undefined, 'Number', 'Client', 'Issued', 'Due', 'Status', 'Net', 'VAT', 'Gross', 'Paid at (UK time)']);
    expect(sheet.getRow(1).font?.bold).toBe(true);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });

    const first = sheet.getRow(2);
    expect(first.getCell(1).value).toBe('INV-1001');
    expect(first.getCell(3).value).toEqual(new Date('2025-03-03T00:00:00Z'));
    expect(first.getCell(4).value).toEqual(new Date('2025-04-02T00:00:00Z'));
    // Numbers, not text, in £ format.
    expect(first.getCell(6).value).toBe(1200);
    expect(first.getCell(7).value).toBe(240);
    expect(first.getCell(8).value).toBe(1440);
    expect(first.getCell(6).numFmt).toBe('"£"#,##0.00;-"£"#,##0.00');
    // 08:30 UTC in July is 09:30 in the UK; 23:59 UTC in January stays 23:59.
    expect(first.getCell(9).value).toEqual(new Date('2025-07-15T09:30:00Z'));
    expect(sheet.getRow(4).getCell(9).value).toEqual(new Date('2025-01-31T23:59:00Z'));
    expect(sheet.getRow(3).getCell(9).value).toBeNull();
    expect(sheet.getRow(3).getCell(6).value).toBe(333.33);
    expect(sheet.getRow(4).getCell(8).value).toBe(0.12);

    const totals = sheet.getRow(5);
    expect(totals.getCell(1).value).toBe('Total');
    expect(totals.getCell(6).value).toEqual({ formula: 'SUM(F2:F4)', result: 1533.43 });
    expect(totals.getCell(7).value).toEqual({ formula: 'SUM(G2:G4)', result: 306.69 });
    expect(totals.getCell(8).value).toEqual({ formula: 'SUM(H2:H4)', result: 1840.12 });
    expect(sheet.rowCount).toBe(5);
  });

  it('writes text that looks like a formula as text, never as a formula', async () => {
    const hostile = ['=HYPERLINK("https://evil.example","Click")', '+44 20 7946 0000', '-2+3', '@SUM(A1:A2)', '=1+1'];
    const rows = hostile.map((text, i): InvoiceRow => ({ ...invoices[1]!, number: text, client: text, status: i % 2 ? text : 'open' }));
    const out = collector();
    await writeInvoicesWorkbook(rows, out.stream);
    const sheet = await readBack(out.bytes());

    hostile.forEach((text, i) => {
      const row = sheet.getRow(i + 2);
      for (const column of [1, 2]) {
        const cell = row.getCell(column);
        expect(cell.type).toBe(ExcelJS.ValueType.String);
        expect(cell.value).toBe(text);
        expect(cell.formula).toBeUndefined();
        // Text format: retyping the cell in Excel keeps it text too.
        expect(cell.numFmt).toBe('@');
      }
    });
    // The only formulas in the file are our totals.
    const formulas: string[] = [];
    sheet.eachRow((row) => row.eachCell((cell) => cell.type === ExcelJS.ValueType.Formula && formulas.push(cell.address)));
    expect(formulas).toEqual(['F7', 'G7', 'H7']);
  });

  it('an empty list still makes a workbook with a zero totals row', async () => {
    const out = collector();
    expect(await writeInvoicesWorkbook([], out.stream)).toEqual({ rowCount: 0, netPence: 0, vatPence: 0, grossPence: 0 });
    const sheet = await readBack(out.bytes());
    expect(sheet.getRow(2).values).toEqual([undefined, 'Total', undefined, undefined, undefined, undefined, 0, 0, 0]);
  });

  it('a failure while reading rows destroys the output instead of ending a half file', async () => {
    async function* failing(): AsyncIterable<InvoiceRow> {
      yield invoices[0]!;
      throw new Error('database went away');
    }
    const output = new PassThrough();
    output.resume();
    const closed = new Promise<Error | undefined>((resolve) => output.on('error', resolve).on('finish', () => resolve(undefined)));
    await expect(writeInvoicesWorkbook(failing(), output)).rejects.toThrow('database went away');
    expect((await closed)?.message).toBe('database went away');
    expect(output.destroyed).toBe(true);
  });
});
