/**
 * Prepares a value for @signpdf/placeholder-pdf-lib, which writes /Name, /Reason, /Location and
 * /ContactInfo with pdf-lib's PDFString.of(value): a literal string emitted as given, with no
 * escaping and one byte per UTF-16 unit. Passed through raw, an unbalanced ")" in a person's name
 * would end the string early and corrupt the signature dictionary, and "Łukasz" would lose its
 * high byte. So we hand it already-escaped text: plain printable ASCII with \ ( ) escaped, or
 * else a UTF-16BE text string (with its byte-order mark, PDF 32000-1 §7.9.2.2) spelled entirely
 * as octal escapes, which readers show with the exact Unicode name.
 */
const MAX_CHARS = 200;

export function pdfLiteralTextString(text: string): string {
  const value = Array.from(text.normalize('NFC')).slice(0, MAX_CHARS).join('');
  if (/^[\x20-\x7e]*$/.test(value)) return value.replace(/[\\()]/g, (c) => `\\${c}`);
  const utf16be = Buffer.from(value, 'utf16le').swap16();
  let escaped = '\\376\\377';
  for (const byte of utf16be) escaped += `\\${byte.toString(8).padStart(3, '0')}`;
  return escaped;
}
