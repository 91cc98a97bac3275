import { type PDFDocument, type PDFPage, rgb, StandardFonts } from 'pdf-lib';
import { ValidationError } from '../../../platform/errors.ts';
import {
  parseField,
  placementSchema,
  type Placement,
  type SignatureMark,
  signatureMarkSchema,
  signedAtSchema,
  type Signer,
  signerSchema,
} from './inputs.ts';
import { loadPdfForSigning } from './load.ts';
import { checkSignaturePng } from './png.ts';
import { saveDocument } from './save.ts';
import { wrapText } from './text-layout.ts';
import { toFontSafeText } from './winansi.ts';

/**
 * The visible part of a signature: the typed or drawn mark plus a caption naming the signer and
 * the time, drawn into the page itself. It is drawn before the document is signed, so the
 * cryptographic signature covers the stamp too and nobody can move or replace it afterwards.
 *
 * No opaque background is drawn: hiding part of a document someone is signing would be worse
 * than an overlap, so callers choose a placement over blank space (the default is the bottom
 * left of the last page, where signature blocks usually are).
 */

export interface StampOptions {
  signer: Signer;
  signature: SignatureMark;
  placement?: Placement;
  signedAt: Date;
}

/** Where the stamp went: the signature field's widget is put over it, so readers link the two. */
export interface StampedArea {
  page: PDFPage;
  rect: [number, number, number, number];
}

const INK = rgb(0.05, 0.1, 0.4);
const CAPTION_GREY = rgb(0.25, 0.25, 0.25);
const CAPTION_SIZE = 7;
const CAPTION_LEADING = CAPTION_SIZE + 2;
const DEFAULT_WIDTH = 260;
const DEFAULT_HEIGHT = 72;
const DEFAULT_MARGIN = 36;

export async function stampSignature(originalPdf: Uint8Array, options: StampOptions): Promise<Buffer> {
  checkStampOptions(options);
  const doc = await loadPdfForSigning(originalPdf, 'originalPdf');
  await drawSignatureStamp(doc, options);
  doc.setModificationDate(options.signedAt);
  return saveDocument(doc);
}

/** Validates everything about a stamp that can be checked without opening the PDF. */
export function checkStampOptions(options: StampOptions): void {
  parseField('signer', signerSchema, options.signer);
  parseField('signature', signatureMarkSchema, options.signature);
  if (options.signature.kind === 'drawn') checkSignaturePng(options.signature.png, 'signature.png');
  if (options.placement !== undefined) parseField('placement', placementSchema, options.placement);
  parseField('signedAt', signedAtSchema, options.signedAt);
}

export async function drawSignatureStamp(doc: PDFDocument, options: StampOptions): Promise<StampedArea> {
  const pages = doc.getPages();
  const box = resolvePlacement(pages, options.placement);
  const page = pages[box.pageIndex]!;
  const captionFont = await doc.embedFont(StandardFonts.Helvetica);

  const when = options.signedAt.toISOString().replace('T', ' ').slice(0, 19);
  const caption = toFontSafeText(
    `Signed by ${options.signer.name.trim()} <${options.signer.email}> on ${when} (UTC)`,
    captionFont,
  );
  const captionLines = wrapText(caption, captionFont, CAPTION_SIZE, box.width).slice(0, 3);
  const captionHeight = captionLines.length * CAPTION_LEADING + 2;
  const mark = { x: box.x, y: box.y + captionHeight + 2, width: box.width, height: box.height - captionHeight - 4 };

  if (options.signature.kind === 'typed') {
    // Times Italic: the nearest thing to handwriting among the 14 standard fonts.
    const font = await doc.embedFont(StandardFonts.TimesRomanItalic);
    const text = toFontSafeText(options.signature.text.trim(), font);
    const fitWidth = mark.width / Math.max(font.widthOfTextAtSize(text, 1), 1);
    const size = Math.max(6, Math.min(mark.height * 0.8, 32, fitWidth));
    page.drawText(text, { x: mark.x, y: mark.y + mark.height * 0.15, size, font, color: INK });
  } else {
    let image;
    try {
      image = await doc.embedPng(options.signature.png);
    } catch {
      throw new ValidationError([{ field: 'signature.png', reason: 'could not be decoded as a PNG image' }]);
    }
    // Fit inside the mark area keeping the aspect ratio; never enlarge past 1 px per point.
    const scale = Math.min(mark.width / image.width, mark.height / image.height, 1);
    page.drawImage(image, { x: mark.x, y: mark.y, width: image.width * scale, height: image.height * scale });
  }

  // The signature line, then the caption beneath it.
  page.drawLine({
    start: { x: box.x, y: box.y + captionHeight },
    end: { x: box.x + box.width, y: box.y + captionHeight },
    thickness: 0.5,
    color: CAPTION_GREY,
  });
  captionLines.forEach((line, i) => {
    page.drawText(line, {
      x: box.x,
      y: box.y + captionHeight - (i + 1) * CAPTION_LEADING,
      size: CAPTION_SIZE,
      font: captionFont,
      color: CAPTION_GREY,
    });
  });
  return { page, rect: [box.x, box.y, box.x + box.width, box.y + box.height] };
}

/** Turns the caller's placement (relative to the visible page area) into absolute page coordinates. */
function resolvePlacement(pages: PDFPage[], placement: Placement | undefined) {
  if (placement === undefined) {
    const pageIndex = pages.length - 1;
    const crop = pages[pageIndex]!.getCropBox();
    const width = Math.min(DEFAULT_WIDTH, crop.width - 2 * DEFAULT_MARGIN);
    const height = Math.min(DEFAULT_HEIGHT, crop.height - 2 * DEFAULT_MARGIN);
    if (width < 72 || height < 36) {
      throw new ValidationError([{ field: 'originalPdf', reason: 'the last page is too small for a signature' }]);
    }
    return { pageIndex, x: crop.x + DEFAULT_MARGIN, y: crop.y + DEFAULT_MARGIN, width, height };
  }
  if (placement.page > pages.length) {
    throw new ValidationError([{ field: 'placement.page', reason: `the document has ${pages.length} page(s)` }]);
  }
  const pageIndex = placement.page - 1;
  const crop = pages[pageIndex]!.getCropBox();
  if (placement.x + placement.width > crop.width || placement.y + placement.height > crop.height) {
    throw new ValidationError([
      {
        field: 'placement',
        reason: `lies outside page ${placement.page}, which is ${Math.round(crop.width)} × ${Math.round(crop.height)} points`,
      },
    ]);
  }
  return { pageIndex, x: crop.x + placement.x, y: crop.y + placement.y, width: placement.width, height: placement.height };
}
