import type { z } from 'zod';
import { isIsoDate, RELATIONSHIP_CODES } from '../../codes.ts';
import type { Address, Email, Phone } from '../../model.ts';
import { isRecord } from '../http.ts';
import type { contactDetails } from './schemas.ts';

/** Wonde's values → the model's: genders, relationship and SEN labels, dates, phones, e-mails and addresses. */

export const GENDER: Readonly<Record<string, string>> = {
  MALE: 'M',
  M: 'M',
  FEMALE: 'F',
  F: 'F',
  UNKNOWN: 'U',
  U: 'U',
  OTHER: 'X',
  X: 'X',
  'NOT SPECIFIED': 'X',
  INDETERMINATE: 'X',
};

/** Relationship labels as MISs name them (and the CBDS descriptions) → CBDS code. */
export const RELATIONSHIP_LABELS: Readonly<Record<string, string>> = {
  mother: 'PAM',
  father: 'PAF',
  'step mother': 'STM',
  stepmother: 'STM',
  'step father': 'STF',
  stepfather: 'STF',
  'foster mother': 'FOM',
  'foster father': 'FOF',
  grandmother: 'GRM',
  grandfather: 'GRF',
  carer: 'CAR',
  childminder: 'CHM',
  doctor: 'DOC',
  'other family member': 'FAM',
  'family member': 'FAM',
  'other relative': 'REL',
  relative: 'REL',
  'social worker': 'SWR',
  'other contact': 'OTH',
  other: 'OTH',
  ...Object.fromEntries(Object.entries(RELATIONSHIP_CODES).map(([code, description]) => [description.toLowerCase(), code])),
};

export const SEN_LABELS: Readonly<Record<string, string>> = {
  'no special educational need': 'N',
  'no sen': 'N',
  none: 'N',
  'sen support': 'K',
  'education, health and care plan': 'E',
  'ehc plan': 'E',
  ehcp: 'E',
};

/** 'YYYY-MM-DD' of a Wonde date object `{ date: 'YYYY-MM-DD HH:MM:SS.000000', … }` or a date string; null when none, undefined when not a date. */
export function dateOf(value: unknown): string | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  const raw = typeof value === 'string' ? value : isRecord(value) && typeof value.date === 'string' ? value.date : undefined;
  if (raw === undefined) return undefined;
  const day = raw.slice(0, 10);
  return isIsoDate(day) ? day : undefined;
}

export function str(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1' || (typeof value === 'string' && /^(true|yes|y)$/i.test(value))) return true;
  if (value === 0 || value === '0' || (typeof value === 'string' && /^(false|no|n)$/i.test(value))) return false;
  return undefined;
}

/** Phones and e-mails from `contact_details.data`, typed where Wonde says which one it is. */
export function contactLines(details: z.output<typeof contactDetails>): { emails?: Email[]; phones?: Phone[]; address?: Address | null } {
  if (details === undefined) return {};
  const phones: Phone[] = [];
  const addPhone = (number: string | undefined, type: Phone['type']) => {
    if (number && !phones.some((p) => p.number === number)) phones.push(type ? { number, type } : { number });
  };
  const p = details.phones ?? {};
  addPhone(str(p.home), 'home');
  addPhone(str(p.mobile), 'mobile');
  addPhone(str(p.work), 'work');
  addPhone(str(p.phone), 'other');
  addPhone(str(p.primary), 'other');
  const emails: Email[] = [];
  const addEmail = (address: string | undefined, type: Email['type']) => {
    if (address && !emails.some((e) => e.address === address)) emails.push({ address, type });
  };
  const e = details.emails ?? {};
  addEmail(str(e.home), 'home');
  addEmail(str(e.work), 'work');
  addEmail(str(e.email), 'other');
  addEmail(str(e.primary), 'other');
  const home = details.addresses?.home;
  let address: Address | null = null;
  if (isRecord(home)) {
    // The model keeps a house number as its own line ('12', 'High Street'), as a CTF does.
    const lines = [home.apartment, home.house_name, home.house_number, home.street, home.district].map(str).filter((l): l is string => l !== undefined);
    const postcode = str(home.postcode) ?? null;
    if (lines.length > 0 || postcode) address = { lines, town: str(home.town) ?? null, county: str(home.county) ?? null, postcode };
  }
  return { emails, phones, address };
}

/** `updated_after` as Wonde writes it: 'YYYY-MM-DD HH:MM:SS' (UTC). */
export function wondeTimestamp(value: string): string | undefined {
  const trimmed = value.trim();
  const plain = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?$/.exec(trimmed);
  const ms = plain ? Date.parse(`${plain[1]}T${plain[2] ?? '00:00:00'}Z`) : Date.parse(trimmed);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
