import { PDFDocument, PDFName, PDFRawStream, PDFRef } from 'pdf-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../platform/errors.ts';
import {
  appendAuditCertificate,
  createPracticeCertificate,
  MAX_PDF_BYTES,
  type PracticeCertificate,
  produceSignedDocument,
  type SignedDocumentRequest,
  stampSignature,
  verifySignedPdf,
} from './index.ts';
import { makeLetterPdf, makePng, pdfsig, pdftotext } from './signing-test-helpers.ts';

let credential: PracticeCertificate;
let letter: Buffer;
const signedAt = new Date('2025-04-06T11:30:00Z');

beforeAll(async () => {
  credential = createPracticeCertificate({ practiceName: 'Northgate Tax LLP', practiceId: 'practice-91', validYears: 1 });
  letter = await makeLetterPdf(2);
});

function request(overrides: Partial<SignedDocumentRequest> = {}): SignedDocumentRequest {
  return {
    originalPdf: letter,
    documentTitle: 'Self assessment 2024-25',
    documentId: 'doc_77',
    signer: { name: 'Ellis Fairbairn', email: 'ellis@example.test' },
    signature: { kind: 'typed', text: 'Ellis Fairbairn' },
    events: [{ what: 'Signed', at: signedAt, who: 'Ellis Fairbairn', ipAddress: '192.0.2.10', userAgent: 'Mozilla/5.0' }],
    practice: { name: 'Northgate Tax LLP', p12: credential.p12, passphrase: credential.passphrase },
    signedAt,
    ...overrides,
  };
}

/** Runs `action` and returns the ValidationError it must throw (fails the test otherwise). */
async function validationErrorOf(action: () => Promise<unknown>): Promise<ValidationError> {
  const error = await action().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

/** Image XObjects anywhere in the file, with their pixel size. */
async function embeddedImages(pdf: Uint8Array): Promise<Array<{ width: number; height: number }>> {
  const doc = await PDFDocument.load(pdf);
  const images = [];
  for (const [, object] of doc.context.enumerateIndirectObjects()) {
    if (object instanceof PDFRawStream && object.dict.get(PDFName.of('Subtype')) === PDFName.of('Image')) {
      const number = (name: string) => Number(String(object.dict.get(PDFName.of(name))));
      // pdf-lib puts a PNG's alpha channel in a separate soft-mask image; count the colour one.
      if (!(object.dict.get(PDFName.of('SMask')) instanceof PDFRef)) continue;
      images.push({ width: number('Width'), height: number('Height') });
    }
  }
  return images;
}

describe('drawn signatures', () => {
  it('embeds a real PNG, and the signed result still verifies', async () => {
    const png = makePng(300, 100);
    const { signedPdf } = await produceSignedDocument(request({ signature: { kind: 'drawn', png } }));
    expect(await embeddedImages(signedPdf)).toEqual([{ width: 300, height: 100 }]);
    expect(verifySignedPdf(signedPdf).valid).toBe(true);
    expect(await pdfsig(signedPdf)).toContain('Signature Validation: Signature is Valid.');
    expect(await pdftotext(signedPdf)).toContain('Signed by Ellis Fairbairn');
  });

  it('refuses a buffer that is not a PNG, naming the field', async () => {
    const notPng = Buffer.from('GIF89a this is not a png at all, just some bytes');
    const error = await validationErrorOf(() => produceSignedDocument(request({ signature: { kind: 'drawn', png: notPng } })));
    expect(error.errors).toEqual([{ field: 'signature.png', reason: 'is not a PNG image' }]);
  });

  it('refuses a PNG whose header declares a decompression bomb, before decoding it', async () => {
    const png = makePng(10, 10);
    png.writeUInt32BE(50_000, 16); // IHDR width
    png.writeUInt32BE(50_000, 20); // IHDR height
    const error = await validationErrorOf(() => stampSignature(letter, { ...request(), signature: { kind: 'drawn', png } }));
    expect(error.errors?.[0]).toMatchObject({ field: 'signature.png', reason: expect.stringContaining('limited to') });
  });

  it('refuses a PNG with a valid header but corrupt image data, naming the field', async () => {
    const png = makePng(20, 20);
    const idat = png.indexOf('IDAT');
    png.fill(0xff, idat + 4, idat + 20); // wreck the zlib stream
    const error = await validationErrorOf(() => stampSignature(letter, { ...request(), signature: { kind: 'drawn', png } }));
    expect(error.errors?.[0]?.field).toBe('signature.png');
  });
});

describe('text the standard fonts cannot encode', () => {
  it('replaces it with "?" instead of crashing, in the stamp, the audit page and the signature dictionary', async () => {
    const name = 'Zoë Łukasz 😀 Ñandú 李';
    const { signedPdf } = await produceSignedDocument(
      request({
        signer: { name, email: 'zoe@example.test' },
        signature: { kind: 'typed', text: name },
        documentTitle: 'Rozliczenie roczne — Łódź ✓',
        practice: { name: 'Ødegård & Søn Regnskab ✓', p12: credential.p12, passphrase: credential.passphrase },
        events: [{ what: 'Signed ✍', at: signedAt, who: `${name} <zoe@example.test>`, ipAddress: '::1', userAgent: 'Agent/1.0 (𝕏)' }],
      }),
    );
    expect(verifySignedPdf(signedPdf).valid).toBe(true);
    const text = await pdftotext(signedPdf);
    // ë, Ñ, ú, Ø, å, — are in WinAnsi and survive; Ł, emoji, 李, ✓ become '?'.
    expect(text).toContain('Zoë ?ukasz ? Ñandú ?');
    expect(text).toContain('Rozliczenie roczne — ?ód? ?');
    expect(text).toContain('Ødegård & Søn Regnskab ?');
    // The signature dictionary carries the exact name as a UTF-16BE text string (octal-escaped).
    expect(signedPdf.toString('latin1')).toContain('/Name (\\376\\377\\000\\132\\000\\157\\000\\353'); // Z, o, ë
    const report = await pdfsig(signedPdf);
    expect(report).toContain('Signature Validation: Signature is Valid.');
  });

  it('handles a name with an unbalanced parenthesis and backslash in the signature dictionary', async () => {
    const { signedPdf } = await produceSignedDocument(request({ signer: { name: 'Sam (Jr\\', email: 'sam@example.test' } }));
    expect(verifySignedPdf(signedPdf).valid).toBe(true);
    expect(await pdfsig(signedPdf)).toContain('Signature Validation: Signature is Valid.');
  });
});

describe('input limits and refusals', () => {
  it('refuses a PDF over the size limit without parsing it', async () => {
    const huge = Buffer.alloc(MAX_PDF_BYTES + 1, 0x20);
    huge.write('%PDF-1.7\n');
    const error = await validationErrorOf(() => produceSignedDocument(request({ originalPdf: huge })));
    expect(error.errors?.[0]).toMatchObject({ field: 'originalPdf', reason: expect.stringContaining('25 MiB') });
  });

  it('refuses something that is not a PDF', async () => {
    const error = await validationErrorOf(() => stampSignature(Buffer.from('hello, I am a text file'), request()));
    expect(error.errors).toEqual([{ field: 'originalPdf', reason: 'is not a PDF file' }]);
  });

  it('refuses a document that is already signed, since re-saving would break that signature', async () => {
    const { signedPdf } = await produceSignedDocument(request());
    const error = await validationErrorOf(() => produceSignedDocument(request({ originalPdf: signedPdf })));
    expect(error.errors?.[0]).toMatchObject({ field: 'originalPdf', reason: expect.stringContaining('already carries a digital signature') });
  });

  it('names bad metadata fields', async () => {
    const error = await validationErrorOf(() =>
      produceSignedDocument(
        request({
          signer: { name: ' ', email: 'not-an-email' },
          events: [{ what: 'Signed', at: signedAt, who: 'x', ipAddress: '999.1.1.1' }],
        }),
      ),
    );
    expect(error.errors?.map((e) => e.field)).toEqual(['signer.name', 'signer.email']);
    const eventError = await validationErrorOf(() =>
      produceSignedDocument(request({ events: [{ what: 'Signed', at: signedAt, who: 'x', ipAddress: '999.1.1.1' }] })),
    );
    expect(eventError.errors).toEqual([{ field: 'events.0.ipAddress', reason: 'must be an IPv4 or IPv6 address' }]);
  });

  it('refuses a placement off the page, or on a page that does not exist', async () => {
    const offPage = await validationErrorOf(() =>
      stampSignature(letter, { ...request(), placement: { page: 1, x: 500, y: 20, width: 200, height: 60 } }),
    );
    expect(offPage.errors?.[0]).toMatchObject({ field: 'placement', reason: expect.stringContaining('lies outside page 1') });
    const noPage = await validationErrorOf(() =>
      stampSignature(letter, { ...request(), placement: { page: 3, x: 20, y: 20, width: 200, height: 60 } }),
    );
    expect(noPage.errors).toEqual([{ field: 'placement.page', reason: 'the document has 2 page(s)' }]);
  });
});

describe('stampSignature and appendAuditCertificate on their own', () => {
  it('stamps the chosen page and appends a paginated audit certificate for a long timeline', async () => {
    const stamped = await stampSignature(letter, { ...request(), placement: { page: 1, x: 300, y: 100, width: 200, height: 70 } });
    // The caption wraps inside a 200-point box: compare with line breaks folded to spaces.
    const firstPageText = (await pdftotext(Buffer.from(await firstPageOnly(stamped)))).replace(/\s+/g, ' ');
    expect(firstPageText).toContain('Signed by Ellis Fairbairn <ellis@example.test> on 2025-04-06 11:30:00 (UTC)');

    const events = Array.from({ length: 60 }, (_, i) => ({
      what: `Reminder ${i + 1} sent`,
      at: new Date(signedAt.getTime() + i * 60_000),
      who: 'Portal',
      ipAddress: `198.51.100.${i + 1}`,
      userAgent: `Custos-Reminder/${i} ${'very-long-token-'.repeat(20)}`,
    }));
    const withAudit = await appendAuditCertificate(stamped, {
      documentTitle: 'Self assessment 2024-25',
      documentId: 'doc_77',
      practiceName: 'Northgate Tax LLP',
      originalSha256: 'a'.repeat(64),
      events,
    });
    const doc = await PDFDocument.load(withAudit);
    expect(doc.getPageCount()).toBeGreaterThan(2 + 3); // the timeline needs several pages
    const text = await pdftotext(withAudit);
    expect(text).toContain('Audit certificate (continued)');
    expect(text).toMatch(/198\.51\.100\.1(?!\d)/);
    expect(text).toContain('198.51.100.60');
    expect(text).toContain(`page ${doc.getPageCount() - 2} of ${doc.getPageCount() - 2}`);
  });
});

async function firstPageOnly(pdf: Uint8Array): Promise<Uint8Array> {
  const source = await PDFDocument.load(pdf);
  const out = await PDFDocument.create();
  const [page] = await out.copyPages(source, [0]);
  out.addPage(page);
  return out.save();
}
