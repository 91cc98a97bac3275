import type { PDFFont } from 'pdf-lib';

/**
 * The signing engine draws with the 14 standard PDF fonts only: they need no font files, add no
 * bytes, and render the same in every reader. Their WinAnsi encoding covers Western European
 * letters (é, ë, ß, ø…) but not, say, Ł, Ş, Cyrillic or emoji, and pdf-lib throws on the first
 * character it cannot encode. Names come from people, so anything outside the font's character
 * set becomes '?' instead: visibly lossy, never a crash, and never a different letter that could
 * pass for someone else's name. The exact Unicode values stay in the platform's records and in
 * the certificate (UTF8String).
 */
export const REPLACEMENT = '?';

const encodableByFont = new WeakMap<PDFFont, Set<number>>();

export function toFontSafeText(text: string, font: PDFFont): string {
  let encodable = encodableByFont.get(font);
  if (!encodable) {
    encodable = new Set(font.getCharacterSet());
    encodableByFont.set(font, encodable);
  }
  let out = '';
  // NFC first, so "e" + combining diaeresis becomes the single WinAnsi "ë".
  for (const char of text.normalize('NFC')) {
    const codePoint = char.codePointAt(0)!;
    if (codePoint === 0x09 || codePoint === 0x0a || codePoint === 0x0d) {
      out += ' '; // layout is ours: callers lay out lines, so breaks in values become spaces
    } else if (codePoint < 0x20 || codePoint === 0x7f || !encodable.has(codePoint)) {
      out += REPLACEMENT;
    } else {
      out += char;
    }
  }
  return out;
}
