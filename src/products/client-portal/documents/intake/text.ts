import { UploadRefused } from './types.ts';

/**
 * CSV and plain text have no magic number, so "is it text" is decided by content: valid UTF-8 and
 * no NUL byte. Binary formats are full of NULs and invalid sequences, so a renamed executable or
 * image fails at once. The first 64 KiB decide whether the upload is text at all; the rest is
 * checked the same way as it streams past (a decoder keeps only a partial character between
 * chunks), so a text head cannot smuggle a binary tail.
 *
 * UTF-16 text (full of NULs) and legacy 8-bit encodings such as Windows-1252 (a lone 0xA3 for £)
 * are refused: the portal promises UTF-8.
 */
export class TextCheck {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  /** Throws UploadRefused if the bytes so far are not UTF-8 text. */
  push(chunk: Uint8Array): void {
    if (chunk.includes(0)) throw notText('contains NUL bytes, so it is binary rather than text');
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      throw notText('is not valid UTF-8 text');
    }
  }

  end(): void {
    try {
      this.decoder.decode();
    } catch {
      throw notText('is not valid UTF-8 text (it ends inside a character)');
    }
  }
}

const notText = (reason: string) => new UploadRefused('file', 'not-text', reason);

/**
 * Text a browser would take for HTML, XML or SVG if it ever sniffed the file, and scripts. The tag
 * list follows the WHATWG MIME Sniffing standard's HTML patterns, plus SVG and the XML prolog.
 * Only the start of the text counts, as it does for a browser. Returns the reason, or undefined.
 */
const MARKUP =
  /^<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|svg|math|object|embed)(?=[\s>/])|^<!--|^<\?xml/iu;

export function activeTextReason(head: Uint8Array): string | undefined {
  const start = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false })
    .decode(head.subarray(0, 1024))
    .replace(/^[\t\n\f\r ]+/u, '');
  if (MARKUP.test(start)) return 'content is HTML, XML or SVG markup: active content is not accepted';
  if (start.startsWith('#!')) return 'content is a script: scripts are not accepted';
  return undefined;
}
