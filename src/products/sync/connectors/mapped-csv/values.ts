import { isIsoDate, isNcYearCode, RELATIONSHIP_CODES } from '../../codes.ts';
import type { Address, Email, Phone } from '../../model.ts';
import { at, type ProblemLog } from '../problems.ts';
import { ADDRESS_FIELDS, type CsvMapping } from './mapping.ts';

/** One row's values read through the mapping: each blank, bad or unknown value is logged with file, line and header. */

type Field = string;

export interface RowContext {
  file: string;
  line: number;
  get(field: Field): string | undefined;
  header(field: Field): string;
  log: ProblemLog;
  dateFormat: CsvMapping['dateFormat'];
}

/** The value of a mapped column: absent when unmapped, null when blank. */
export function text(ctx: RowContext, field: Field): string | null | undefined {
  const raw = ctx.get(field);
  if (raw === undefined) return undefined;
  const v = raw.trim();
  return v === '' ? null : v;
}

export function required(ctx: RowContext, field: Field): string | undefined {
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

export function date(ctx: RowContext, field: Field): string | null | undefined {
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

export function bool(ctx: RowContext, field: Field): boolean | null | undefined {
  const v = text(ctx, field);
  if (v == null) return v;
  const w = v.toLowerCase();
  if (TRUE_WORDS.has(w)) return true;
  if (FALSE_WORDS.has(w)) return false;
  ctx.log.error(ctx.file, at(ctx.file, ctx.line, ctx.header(field)), 'is not yes/no (true, false, Y, N, 1 or 0)');
  return null;
}

/** Kept as given when not a code, with a warning (codes.ts: an unknown code never blocks an import). */
export function coded(ctx: RowContext, field: Field, isCode: (c: string) => boolean, what: string, normalise: (v: string) => string = (v) => v.toUpperCase()) {
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

export function normaliseRelationship(v: string): string {
  return RELATIONSHIP_WORDS[v.toLowerCase()] ?? v.toUpperCase();
}

/** The NC year code the model keeps ('Year 7', 'Y7', '7' → '7'; 'Reception' → 'R'); other values as given. */
export function yearGroup(v: string | null | undefined): string | null | undefined {
  if (v == null) return v;
  if (/^reception$/i.test(v)) return 'R';
  const c = v.replace(/^(year|yr|y)\s*/i, '').toUpperCase();
  return isNcYearCode(c) ? c : v;
}

export function address(ctx: RowContext): Address | null | undefined {
  const parts = ADDRESS_FIELDS.map((f) => [f, text(ctx, f)] as const);
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

export function emails(ctx: RowContext): Email[] | undefined {
  const v = text(ctx, 'email');
  if (v === undefined) return undefined;
  return v === null ? [] : [{ address: v }];
}

export function phones(ctx: RowContext, kinds: readonly (readonly [Field, 'home' | 'mobile' | 'work'])[]): Phone[] | undefined {
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

