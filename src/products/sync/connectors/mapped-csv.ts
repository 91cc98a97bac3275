import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { z } from 'zod';
import {
  isEthnicityCode,
  isGenderCode,
  isLanguageCode,
  isNcYearCode,
  isRelationshipCode,
  isSenProvisionCode,
  isIsoDate,
  isValidUpn,
  RELATIONSHIP_CODES,
  SEN_PROVISION_CODES,
} from '../codes.ts';
import {
  emptyBatch,
  type Address,
  type ContactLink,
  type ContactRecord,
  type Email,
  type ImportBatch,
  type ImportProblem,
  type Phone,
  type PupilRecord,
  type StaffRecord,
} from '../model.ts';

/**
 * Plain CSV from an MIS report export, read through a saved column mapping: which header holds
 * which model field. One file holds one entity (pupils, contacts or staff) and is read as the
 * whole of that entity (mode 'full'). Contacts come one row per contact–pupil pair (the usual
 * shape of a "contacts with their pupils" report); rows of the same contact are merged.
 *
 * The file is streamed (csv-parse), never held whole. Problems name the file, line and header,
 * never a value from the file.
 */

// ------------------------------------------------------------------ shared CSV streaming

export type TextEncodingName = 'utf-8' | 'windows-1252';

/** Collects problems; after `cap` of one kind in one file, the rest are counted, not listed. */
export class ProblemLog {
  readonly errors: ImportProblem[] = [];
  readonly warnings: ImportProblem[] = [];
  /** Every error logged, listed or not. */
  errorCount = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly cap = 100) {}

  error(file: string, location: string, message: string): void {
    this.add('errors', file, location, message);
  }

  warning(file: string, location: string, message: string): void {
    this.add('warnings', file, location, message);
  }

  private add(kind: 'errors' | 'warnings', file: string, location: string, message: string): void {
    if (kind === 'errors') this.errorCount++;
    const key = `${kind}\u0000${file}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n <= this.cap) this[kind].push({ location, message });
  }

  /** Appends "N more … not listed" lines for files that went over the cap. */
  finish(): void {
    for (const [key, n] of this.counts) {
      if (n <= this.cap) continue;
      const [kind, file] = key.split('\u0000') as ['errors' | 'warnings', string];
      this[kind].push({ location: file, message: `${n - this.cap} more ${kind === 'errors' ? 'errors' : 'warnings'} in this file are not listed` });
    }
  }
}

export function at(file: string, line?: number, column?: string): string {
  if (line === undefined) return column === undefined ? file : `${file} (column ${column})`;
  return column === undefined ? `${file} line ${line}` : `${file} line ${line} (column ${column})`;
}

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

// ------------------------------------------------------------------ the mapping

const PUPIL_FIELDS = {
  required: ['misId', 'legalForename', 'legalSurname'],
  optional: [
    'upn',
    'admissionNumber',
    'middleNames',
    'preferredForename',
    'preferredSurname',
    'dateOfBirth',
    'gender',
    'ethnicity',
    'religion',
    'firstLanguage',
    'email',
    'homePhone',
    'mobilePhone',
    'addressLine1',
    'addressLine2',
    'addressLine3',
    'town',
    'county',
    'postcode',
    'fsmEligible',
    'senStatus',
    'yearGroup',
    'registrationGroup',
    'house',
    'enrolmentDate',
    'leavingDate',
  ],
} as const;

const CONTACT_FIELDS = {
  required: ['misId', 'pupilMisId', 'forename', 'surname'],
  optional: [
    'title',
    'email',
    'homePhone',
    'mobilePhone',
    'workPhone',
    'addressLine1',
    'addressLine2',
    'addressLine3',
    'town',
    'county',
    'postcode',
    'relationship',
    'priority',
    'parentalResponsibility',
    'livesWith',
    'noContact',
  ],
} as const;

const STAFF_FIELDS = {
  required: ['misId', 'forename', 'surname'],
  optional: ['title', 'dateOfBirth', 'gender', 'jobTitle', 'email', 'workPhone', 'mobilePhone'],
} as const;

/** The fields a mapping may name for each entity; `required` ones must be mapped. */
export const MAPPABLE_FIELDS = { pupils: PUPIL_FIELDS, contacts: CONTACT_FIELDS, staff: STAFF_FIELDS } as const;

const headerName = z
  .string({ error: (issue) => (issue.input === undefined ? 'this field must be mapped to a column' : 'must be a column header name') })
  .trim()
  .min(1, 'must be a column header name');

function columnsSchema(fields: { required: readonly string[]; optional: readonly string[] }) {
  const shape: Record<string, z.ZodType<string | undefined>> = {};
  for (const f of fields.required) shape[f] = headerName;
  for (const f of fields.optional) shape[f] = headerName.optional();
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be an object of field → column header') });
}

const common = {
  dateFormat: z.enum(['YYYY-MM-DD', 'DD/MM/YYYY', 'MM/DD/YYYY']).optional(),
  delimiter: z.enum([',', ';', '\t']).optional(),
  encoding: z.enum(['utf-8', 'windows-1252']).optional(),
};

/** A saved column mapping for a plain CSV export. */
export const csvMappingSchema = z.discriminatedUnion(
  'entity',
  [
    z.strictObject({ entity: z.literal('pupils'), columns: columnsSchema(PUPIL_FIELDS), ...common }),
    z.strictObject({ entity: z.literal('contacts'), columns: columnsSchema(CONTACT_FIELDS), ...common }),
    z.strictObject({ entity: z.literal('staff'), columns: columnsSchema(STAFF_FIELDS), ...common }),
  ],
  { error: (issue) => (issue.input === undefined ? 'is required' : "must be 'pupils', 'contacts' or 'staff'") },
);

export type CsvMapping = z.infer<typeof csvMappingSchema>;

/** Mapping problems, located `mapping: columns.dateOfBirth`. */
function mappingProblems(error: z.ZodError): ImportProblem[] {
  const problems: ImportProblem[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const where = base ? `${base}.${key}` : key;
        problems.push({
          location: `mapping: ${where}`,
          message: base === 'columns' ? 'is not a field this entity has' : 'is not a mapping setting',
        });
      }
      continue;
    }
    problems.push({ location: base ? `mapping: ${base}` : 'mapping', message: base ? issue.message : 'must be an object with entity and columns' });
  }
  return problems;
}

// ------------------------------------------------------------------ values

type Field = string;

interface RowContext {
  file: string;
  line: number;
  get(field: Field): string | undefined;
  header(field: Field): string;
  log: ProblemLog;
  dateFormat: CsvMapping['dateFormat'];
}

/** The value of a mapped column: absent when unmapped, null when blank. */
function text(ctx: RowContext, field: Field): string | null | undefined {
  const raw = ctx.get(field);
  if (raw === undefined) return undefined;
  const v = raw.trim();
  return v === '' ? null : v;
}

function required(ctx: RowContext, field: Field): string | undefined {
  const v = text(ctx, field);
  if (v == null) {
    ctx.log.error(ctx.file, at(ctx.file, ctx.line, ctx.header(field)), 'is blank; a value is required');
    return undefined;
  }
  return v;
}

/** Parses a date in the mapping's format into YYYY-MM-DD. Returns undefined (and logs) when bad. */
export function parseDate(value: string, format: CsvMapping['dateFormat']): string | undefined {
  const v = value.replace(/[ T]00:00(:00)?$/, '');
  let y: string | undefined, m: string | undefined, d: string | undefined;
  if ((format ?? 'YYYY-MM-DD') === 'YYYY-MM-DD') {
    [, y, m, d] = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v) ?? [];
  } else {
    const parts = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(v);
    if (parts) {
      y = parts[3];
      [d, m] = format === 'DD/MM/YYYY' ? [parts[1], parts[2]] : [parts[2], parts[1]];
    }
  }
  if (!y || !m || !d) return undefined;
  const iso = `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
  return isIsoDate(iso) ? iso : undefined;
}

function date(ctx: RowContext, field: Field): string | null | undefined {
  const v = text(ctx, field);
  if (v == null) return v;
  const iso = parseDate(v, ctx.dateFormat);
  if (iso === undefined) {
    ctx.log.error(ctx.file, at(ctx.file, ctx.line, ctx.header(field)), `is not a date in the form ${ctx.dateFormat ?? 'YYYY-MM-DD'}`);
  }
  return iso ?? null;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 't']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'f']);

function bool(ctx: RowContext, field: Field): boolean | null | undefined {
  const v = text(ctx, field);
  if (v == null) return v;
  const w = v.toLowerCase();
  if (TRUE_WORDS.has(w)) return true;
  if (FALSE_WORDS.has(w)) return false;
  ctx.log.error(ctx.file, at(ctx.file, ctx.line, ctx.header(field)), 'is not yes/no (true, false, Y, N, 1 or 0)');
  return null;
}

/** Kept as given when not a code, with a warning (codes.ts: an unknown code never blocks an import). */
function coded(ctx: RowContext, field: Field, isCode: (c: string) => boolean, what: string, normalise: (v: string) => string = (v) => v.toUpperCase()) {
  const v = text(ctx, field);
  if (v == null) return v;
  const c = normalise(v);
  if (isCode(c)) return c;
  ctx.log.warning(ctx.file, at(ctx.file, ctx.line, ctx.header(field)), `is not a ${what}; kept as given`);
  return v;
}

const GENDER_WORDS: Record<string, string> = { male: 'M', female: 'F', unknown: 'U', 'not specified': 'X', other: 'X' };

export function normaliseGender(v: string): string {
  return GENDER_WORDS[v.toLowerCase()] ?? v.toUpperCase();
}

const RELATIONSHIP_WORDS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(RELATIONSHIP_CODES).map(([code, description]) => [description.toLowerCase(), code])),
  mother: 'PAM',
  mum: 'PAM',
  father: 'PAF',
  dad: 'PAF',
  stepmother: 'STM',
  'step mother': 'STM',
  stepfather: 'STF',
  'step father': 'STF',
  grandmother: 'GRM',
  grandfather: 'GRF',
  carer: 'CAR',
  childminder: 'CHM',
  doctor: 'DOC',
  'social worker': 'SWR',
  relative: 'REL',
  other: 'OTH',
};

function normaliseRelationship(v: string): string {
  return RELATIONSHIP_WORDS[v.toLowerCase()] ?? v.toUpperCase();
}

/** The NC year code the model keeps ('Year 7', 'Y7', '7' → '7'; 'Reception' → 'R'); other values as given. */
function yearGroup(v: string | null | undefined): string | null | undefined {
  if (v == null) return v;
  if (/^reception$/i.test(v)) return 'R';
  const c = v.replace(/^(year|yr|y)\s*/i, '').toUpperCase();
  return isNcYearCode(c) ? c : v;
}

function address(ctx: RowContext): Address | null | undefined {
  const parts = ['addressLine1', 'addressLine2', 'addressLine3', 'town', 'county', 'postcode'].map((f) => [f, text(ctx, f)] as const);
  if (parts.every(([, v]) => v === undefined)) return undefined;
  if (parts.every(([, v]) => v == null)) return null;
  const get = (f: string) => parts.find(([k]) => k === f)![1];
  const result: Address = {
    lines: [get('addressLine1'), get('addressLine2'), get('addressLine3')].filter((l): l is string => typeof l === 'string'),
  };
  for (const f of ['town', 'county', 'postcode'] as const) {
    const v = get(f);
    if (v !== undefined) result[f] = f === 'postcode' && v ? v.toUpperCase() : v;
  }
  return result;
}

function emails(ctx: RowContext): Email[] | undefined {
  const v = text(ctx, 'email');
  if (v === undefined) return undefined;
  return v === null ? [] : [{ address: v }];
}

function phones(ctx: RowContext, kinds: readonly (readonly [Field, 'home' | 'mobile' | 'work'])[]): Phone[] | undefined {
  let mapped = false;
  const out: Phone[] = [];
  for (const [field, type] of kinds) {
    const v = text(ctx, field);
    if (v === undefined) continue;
    mapped = true;
    if (v !== null) out.push({ number: v, type });
  }
  return mapped ? out : undefined;
}

/** Drops undefined properties, so unmapped fields are absent rather than present-and-undefined. */
function compact<T extends object>(record: T): T {
  for (const key of Object.keys(record) as (keyof T)[]) if (record[key] === undefined) delete record[key];
  return record;
}

function pupilFrom(ctx: RowContext): PupilRecord | undefined {
  const misId = required(ctx, 'misId');
  const legalForename = required(ctx, 'legalForename');
  const legalSurname = required(ctx, 'legalSurname');
  let upn = text(ctx, 'upn');
  if (upn) {
    upn = upn.toUpperCase();
    if (!isValidUpn(upn)) ctx.log.warning(ctx.file, at(ctx.file, ctx.line, ctx.header('upn')), 'is not a valid UPN (shape or check letter); kept as given');
  }
  const record = compact<PupilRecord>({
    misId: misId ?? '',
    upn,
    admissionNumber: text(ctx, 'admissionNumber'),
    legalForename: legalForename ?? '',
    legalSurname: legalSurname ?? '',
    middleNames: text(ctx, 'middleNames'),
    preferredForename: text(ctx, 'preferredForename'),
    preferredSurname: text(ctx, 'preferredSurname'),
    dateOfBirth: date(ctx, 'dateOfBirth'),
    gender: coded(ctx, 'gender', isGenderCode, 'gender code (M, F, U or X)', normaliseGender),
    ethnicity: coded(ctx, 'ethnicity', isEthnicityCode, 'CBDS ethnicity code'),
    religion: text(ctx, 'religion'),
    firstLanguage: coded(ctx, 'firstLanguage', isLanguageCode, 'known CBDS language code'),
    address: address(ctx),
    emails: emails(ctx),
    phones: phones(ctx, [
      ['homePhone', 'home'],
      ['mobilePhone', 'mobile'],
    ]),
    fsmEligible: bool(ctx, 'fsmEligible'),
    senStatus: coded(
      ctx,
      'senStatus',
      (c) => isSenProvisionCode(c) || Object.hasOwn(SEN_PROVISION_CODES, c),
      'SEN provision code (N, K or E)',
    ),
    yearGroup: yearGroup(text(ctx, 'yearGroup')),
    registrationGroup: text(ctx, 'registrationGroup'),
    house: text(ctx, 'house'),
    enrolmentDate: date(ctx, 'enrolmentDate'),
    leavingDate: date(ctx, 'leavingDate'),
  });
  return misId && legalForename && legalSurname ? record : undefined;
}

function staffFrom(ctx: RowContext): StaffRecord | undefined {
  const misId = required(ctx, 'misId');
  const forename = required(ctx, 'forename');
  const surname = required(ctx, 'surname');
  const record = compact<StaffRecord>({
    misId: misId ?? '',
    title: text(ctx, 'title'),
    forename: forename ?? '',
    surname: surname ?? '',
    dateOfBirth: date(ctx, 'dateOfBirth'),
    gender: coded(ctx, 'gender', isGenderCode, 'gender code (M, F, U or X)', normaliseGender),
    jobTitle: text(ctx, 'jobTitle'),
    emails: emails(ctx),
    phones: phones(ctx, [
      ['workPhone', 'work'],
      ['mobilePhone', 'mobile'],
    ]),
  });
  return misId && forename && surname ? record : undefined;
}

function contactFrom(ctx: RowContext): { contact: ContactRecord; link: ContactLink } | undefined {
  const misId = required(ctx, 'misId');
  const pupilMisId = required(ctx, 'pupilMisId');
  const forename = required(ctx, 'forename');
  const surname = required(ctx, 'surname');
  let priority: number | null | undefined = undefined;
  const p = text(ctx, 'priority');
  if (p != null) {
    if (/^\d{1,3}$/.test(p) && Number(p) >= 1) priority = Number(p);
    else {
      ctx.log.error(ctx.file, at(ctx.file, ctx.line, ctx.header('priority')), 'is not a whole number from 1 (first to call)');
      priority = null;
    }
  } else priority = p;
  const link = compact<ContactLink>({
    pupilMisId: pupilMisId ?? '',
    relationship: coded(ctx, 'relationship', isRelationshipCode, 'CBDS relationship code', normaliseRelationship),
    parentalResponsibility: bool(ctx, 'parentalResponsibility'),
    priority,
    livesWith: bool(ctx, 'livesWith'),
    noContact: bool(ctx, 'noContact'),
  });
  const contact = compact<ContactRecord>({
    misId: misId ?? '',
    title: text(ctx, 'title'),
    forename: forename ?? '',
    surname: surname ?? '',
    emails: emails(ctx),
    phones: phones(ctx, [
      ['homePhone', 'home'],
      ['mobilePhone', 'mobile'],
      ['workPhone', 'work'],
    ]),
    address: address(ctx),
    links: [],
  });
  return misId && pupilMisId && forename && surname ? { contact, link } : undefined;
}

// ------------------------------------------------------------------ the reader

/**
 * Reads a plain CSV export through a saved column mapping. Never rejects: every problem (a bad
 * mapping, a missing header, a bad value) comes back in `errors` or `warnings`.
 */
export async function readMappedCsv(filePath: string, mapping: unknown): Promise<ImportBatch> {
  const batch = emptyBatch('full');
  const file = path.basename(filePath);
  const parsed = csvMappingSchema.safeParse(mapping);
  if (!parsed.success) {
    batch.errors.push(...mappingProblems(parsed.error));
    return batch;
  }
  const m = parsed.data;
  // One entity per file: a contacts export says nothing about who else is on roll.
  batch.covers = [m.entity];
  const log = new ProblemLog();
  const columns = Object.entries(m.columns as Record<string, string | undefined>).filter((e): e is [string, string] => typeof e[1] === 'string');
  const fieldIndex = new Map<string, number>();
  let headerNames: string[] = [];
  let columnCount = 0;

  const seenIds = new Map<string, number>();
  const pupils: PupilRecord[] = [];
  const staff: StaffRecord[] = [];
  const contacts = new Map<string, { record: ContactRecord; line: number; pupils: Map<string, number> }>();

  let input: Readable;
  try {
    input = await openFile(filePath);
  } catch (err) {
    batch.errors.push({ location: file, message: (err as { code?: string }).code === 'ENOENT' ? 'was not found' : 'could not be opened' });
    return batch;
  }

  const problem = await readCsvStream(
    input,
    { fileName: file, delimiter: m.delimiter ?? ',', encoding: m.encoding ?? 'utf-8' },
    {
      header(names, line) {
        headerNames = names;
        columnCount = names.length;
        const { index, missing, ambiguous } = locateHeaders(
          names,
          columns.map(([, h]) => h),
        );
        for (const [field, h] of columns) {
          if (missing.includes(h)) log.error(file, at(file, line, h), `is not in the header row (the mapping's ${field} column)`);
          else fieldIndex.set(field, index.get(h)!);
        }
        for (const h of ambiguous) log.error(file, at(file, line, h), 'appears more than once in the header row');
        return missing.length === 0 && ambiguous.length === 0;
      },
      row(values, line) {
        if (values.length !== columnCount) {
          log.error(file, at(file, line), `has ${values.length} fields; the header row has ${columnCount}`);
          return;
        }
        const errorsBefore = log.errorCount;
        const ctx: RowContext = {
          file,
          line,
          log,
          dateFormat: m.dateFormat,
          get: (field) => {
            const i = fieldIndex.get(field);
            return i === undefined ? undefined : values[i];
          },
          header: (field) => headerNames[fieldIndex.get(field)!] ?? field,
        };
        if (m.entity === 'pupils' || m.entity === 'staff') {
          const record = m.entity === 'pupils' ? pupilFrom(ctx) : staffFrom(ctx);
          const misId = text(ctx, 'misId');
          if (!misId) return;
          const first = seenIds.get(misId);
          if (first !== undefined) {
            log.error(file, at(file, line, ctx.header('misId')), `repeats the MIS id on line ${first}`);
            return;
          }
          seenIds.set(misId, line);
          if (!record || log.errorCount !== errorsBefore) return;
          if (m.entity === 'pupils') pupils.push(record as PupilRecord);
          else staff.push(record as StaffRecord);
        } else {
          const got = contactFrom(ctx);
          if (!got) return;
          let entry = contacts.get(got.contact.misId);
          if (!entry) {
            entry = { record: got.contact, line, pupils: new Map() };
            contacts.set(got.contact.misId, entry);
          }
          const dup = entry.pupils.get(got.link.pupilMisId);
          if (dup !== undefined) {
            log.error(file, at(file, line, ctx.header('pupilMisId')), `repeats the contact and pupil pair on line ${dup}`);
            return;
          }
          entry.pupils.set(got.link.pupilMisId, line);
          entry.record.links.push(got.link);
        }
      },
    },
  );
  if (problem) log.error(file, problem.location, problem.message);
  log.finish();
  batch.errors.push(...log.errors);
  batch.warnings.push(...log.warnings);
  batch.pupils = pupils;
  batch.staff = staff;
  batch.contacts = [...contacts.values()].map((e) => e.record);
  return batch;
}

function openFile(filePath: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const stream = fs.createReadStream(filePath);
    stream.once('open', () => resolve(stream));
    stream.once('error', reject);
  });
}
