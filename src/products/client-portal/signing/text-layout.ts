import type { PDFFont } from 'pdf-lib';

/**
 * Greedy word wrap for text drawn with a standard font. Tokens wider than a line (hashes, user
 * agents without spaces, long e-mail addresses) are broken by character rather than overflowing
 * the page edge, because everything on the audit certificate has to be readable in full.
 */
export function wrapText(text: string, font: PDFFont, size: number, maxWidth: number): string[] {
  const width = (s: string) => font.widthOfTextAtSize(s, size);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line.length === 0 ? word : `${line} ${word}`;
    if (width(candidate) <= maxWidth) {
      line = candidate;
      continue;
    }
    if (line.length > 0) lines.push(line);
    line = '';
    // The word alone is too wide: hard-break it.
    let rest = word;
    while (width(rest) > maxWidth) {
      let cut = 1;
      while (cut < rest.length && width(rest.slice(0, cut + 1)) <= maxWidth) cut++;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
  }
  if (line.length > 0 || lines.length === 0) lines.push(line);
  return lines;
}

/** Cuts an over-long value and says so, so a reader never mistakes a shortened value for a whole one. */
export function limitLength(text: string, maxChars: number): string {
  const chars = Array.from(text);
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars).join('')}... (truncated)`;
}
