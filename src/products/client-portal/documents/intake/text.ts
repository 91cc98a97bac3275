import { UploadRefused } from './types.ts';

/**
 * CSV and plain text have no magic number, so "is it text" is decided by content: no NUL byte, and
 * either valid UTF-8 or Windows-1252 text (Excel's plain "CSV" export on a UK machine writes £ as a
 * lone 0xA3, and clients send such files all the time). Binary formats are full of NULs, invalid
 * UTF-8 and control bytes, so a renamed executable or image fails at once. The first 64 KiB decide
 * whether the upload is text at all; the rest is checked the same way as it streams past (the UTF-8
 * decoder keeps only a partial character between chunks), so a text head cannot smuggle a binary
 * tail.
 *
 * Windows-1252 is judged by its own table: the five bytes it leaves undefined and C0 control bytes
 * other than tab, line feed, form feed, carriage return and the old end-of-file mark (0x1A) are
 * refused. A file becomes Windows-1252 only when it stops being valid UTF-8 and every byte so far
 * fits. UTF-16 text (full of NULs) is refused.
 */
export class TextCheck {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private utf8 = true;
  /** Every byte so far is Windows-1252 text. */
  private windows1252 = true;

  /** Throws UploadRefused if the bytes so far are not text. */
  push(chunk: Uint8Array): void {
    if (chunk.includes(0)) throw notText('contains NUL bytes, so it is binary rather than text');
    this.windows1252 &&= isWindows1252Text(chunk);
    if (!this.utf8) {
      if (!this.windows1252) throw neither();
      return;
    }
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.leaveUtf8();
    }
  }

  end(): void {
    if (!this.utf8) return;
    try {
      this.decoder.decode();
    } catch {
      this.leaveUtf8();
    }
  }

  /** The text's encoding as judged so far. */
  get encoding(): 'utf-8' | 'windows-1252' {
    return this.utf8 ? 'utf-8' : 'windows-1252';
  }

  private leaveUtf8(): void {
    if (!this.windows1252) throw neither();
    this.utf8 = false;
  }
}

/** Bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) and control bytes text does not use. */
function isWindows1252Text(chunk: Uint8Array): boolean {
  for (const byte of chunk) {
    if (byte < 0x20) {
      if (byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d && byte !== 0x1a) return false;
    } else if (byte === 0x81 || byte === 0x8d || byte === 0x8f || byte === 0x90 || byte === 0x9d) {
      return false;
    }
  }
  return true;
}

const neither = () => notText('is neither UTF-8 nor Windows-1252 text');
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
