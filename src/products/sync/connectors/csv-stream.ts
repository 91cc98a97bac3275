import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import type { ImportProblem } from '../model.ts';
import { at } from './problems.ts';

/**
 * Streaming CSV shared by the CSV connectors (mapped CSV, OneRoster CSV): decodes, parses and hands
 * over one row at a time with the line it starts on; a file is never held whole.
 */

export type TextEncodingName = 'utf-8' | 'windows-1252';

export interface CsvReadOptions {
  /** The name problems are reported under (`users.csv`). */
  fileName: string;
  delimiter?: string;
  encoding?: TextEncodingName;
  /** Longest tolerated record, in bytes (a runaway quote otherwise buffers the rest of the file). */
  maxRecordSize?: number;
}

export interface CsvHandlers {
  /** The header row (names trimmed). Return false to stop reading the file. */
  header(names: string[], line: number): boolean;
  /** One data row: its fields as read and the line it starts on. */
  row(values: string[], line: number): void;
}

class StopReading extends Error {}

const CSV_ERROR_MESSAGES: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a quote inside a quoted field is not doubled',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'text follows the closing quote of a field',
  CSV_MAX_RECORD_SIZE: 'a row is longer than the longest this import accepts',
  CSV_INVALID_OPENING_QUOTE: 'a field has a quote in the wrong place',
};

/**
 * Decodes bytes to text as it streams, refusing bytes that are not valid in the encoding
 * (UTF-8 only: every byte is something in windows-1252). A UTF-8 byte order mark wins over
 * the declared encoding. Emits UTF-8 bytes without a BOM.
 */
function decodingStream(encoding: TextEncodingName): Transform {
  let decoder: TextDecoder | undefined;
  let head: Buffer | undefined = Buffer.alloc(0);
  let passThrough = false;
  const start = (self: Transform, bytes: Buffer): void => {
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const body = bom ? bytes.subarray(3) : bytes;
    passThrough = bom || encoding === 'utf-8';
    decoder = new TextDecoder(passThrough ? 'utf-8' : 'windows-1252', { fatal: true, ignoreBOM: true });
    head = undefined;
    write(self, body);
  };
  const write = (self: Transform, bytes: Buffer): void => {
    if (bytes.length === 0) return;
    const text = decoder!.decode(bytes, { stream: true });
    self.push(passThrough ? bytes : Buffer.from(text, 'utf8'));
  };
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      try {
        if (head) {
          const joined = Buffer.concat([head, chunk]);
          if (joined.length < 3) head = joined;
          else start(this, joined);
        } else write(this, chunk);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        if (head) start(this, head);
        decoder?.decode();
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
}

/**
 * Streams one CSV: header first, then each row with the line it starts on. Resolves with the
 * problem that stopped it (bad encoding, broken quoting, a read error), or undefined.
 */
export async function readCsvStream(input: Readable, options: CsvReadOptions, handlers: CsvHandlers): Promise<ImportProblem | undefined> {
  const file = options.fileName;
  const parser = parse({
    delimiter: options.delimiter ?? ',',
    bom: true,
    info: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    max_record_size: options.maxRecordSize ?? 1024 * 1024,
  });
  let lastEnd = 0;
  let lastEmpty = 0;
  let overcount = 0;
  let sawHeader = false;
  let stopped = false;
  try {
    await pipeline(input, decodingStream(options.encoding ?? 'utf-8'), parser, async (records: AsyncIterable<{ record: string[]; info: { lines: number; empty_lines: number } }>) => {
      for await (const { record, info } of records) {
        // A record starts after the previous one ended and any blank lines skipped since.
        // csv-parse counts a CRLF inside a quoted field as two lines: count it as one.
        for (const field of record) if (field.includes('\r\n')) overcount += field.split('\r\n').length - 1;
        const line = lastEnd + 1 + (info.empty_lines - lastEmpty);
        lastEnd = info.lines - overcount;
        lastEmpty = info.empty_lines;
        if (!sawHeader) {
          sawHeader = true;
          const names = record.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
          if (!handlers.header(names, line)) {
            stopped = true;
            throw new StopReading();
          }
        } else {
          handlers.row(record, line);
        }
      }
    });
  } catch (err) {
    if (stopped || err instanceof StopReading) return undefined;
    const e = err as { code?: unknown; lines?: unknown };
    if (e.code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
      return {
        location: file,
        message: 'is not valid UTF-8 text (a file saved by Excel as "CSV" is usually windows-1252: set that encoding)',
      };
    }
    if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
      // Reported at the line the broken row starts on (the parser's own count is off after quoted line breaks).
      return { location: at(file, lastEnd + 1), message: CSV_ERROR_MESSAGES[e.code] ?? 'is not well-formed CSV here' };
    }
    return { location: file, message: 'could not be read to the end (the file, or the zip holding it, is damaged)' };
  }
  if (!sawHeader) return { location: file, message: 'is empty: there is no header row' };
  return undefined;
}

/** Finds each wanted header (exact after trimming, else ignoring case). Duplicate matches are reported. */
export function locateHeaders(
  names: string[],
  wanted: readonly string[],
): { index: Map<string, number>; missing: string[]; ambiguous: string[] } {
  const index = new Map<string, number>();
  const missing: string[] = [];
  const ambiguous: string[] = [];
  for (const want of wanted) {
    if (index.has(want)) continue;
    let hits = names.flatMap((n, i) => (n === want.trim() ? [i] : []));
    if (hits.length === 0) hits = names.flatMap((n, i) => (n.toLowerCase() === want.trim().toLowerCase() ? [i] : []));
    if (hits.length === 0) missing.push(want);
    else {
      if (hits.length > 1) ambiguous.push(want);
      index.set(want, hits[0]!);
    }
  }
  return { index, missing, ambiguous };
}
