import type { TenantScope } from '../../platform/tenancy/tenant-scope.ts';
import { DATA_PURPOSE } from './engine/documents.ts';
import type { Address, Email, Phone } from './model.ts';

/**
 * Data-quality checks a school runs before sharing its data, so that it can fix its MIS. Only
 * current records are looked at (a link counts only when both its pupil and its contact are
 * current). Names are decrypted for the school's own staff (permission 'sync.read'); nothing here
 * is written anywhere, and no grantee ever sees it.
 *
 *   - contact-unreachable: a contact with neither an email address nor a phone number (one issue
 *     per contact).
 *   - no-parental-responsibility: a pupil none of whose contacts is marked as having parental
 *     responsibility (one issue per pupil).
 *   - duplicate-contact: contacts with different MIS ids, the same normalised name (forename and
 *     surname: case, accents, punctuation and spacing ignored) and the same email address, phone
 *     number (digits only, +44 read as 0) or postcode (one issue per group of likely duplicates).
 *   - siblings-not-linked: pupils who look like one household, where a contact of that household is
 *     linked to only some of them (one issue per household: its pupils, then those contacts).
 *     A household is either
 *       (a) pupils with the same home address (normalised postcode and first address line); a
 *           contact belongs to it when the contact's own address is that address or the contact
 *           lives with one of those pupils (livesWith), so a parent living elsewhere is not
 *           expected to be linked to step-siblings; or
 *       (b) the pupils linked to contacts with the same surname and address (one family's
 *           contacts); every such contact belongs to it.
 */

export const DATA_QUALITY_CHECKS = ['contact-unreachable', 'no-parental-responsibility', 'duplicate-contact', 'siblings-not-linked'] as const;
export type DataQualityCheck = (typeof DATA_QUALITY_CHECKS)[number];

export interface DataQualityRecord {
  entity: 'pupils' | 'contacts';
  id: string;
  misId: string;
  name: string;
}

export interface DataQualityIssue {
  check: DataQualityCheck;
  records: DataQualityRecord[];
}

export interface DataQualityReport {
  checkedAt: string;
  issues: DataQualityIssue[];
  /** Issues per check; every check is present, zero when clean. */
  counts: Record<string, number>;
}

type Doc = Record<string, unknown>;

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

interface PupilRow {
  ref: DataQualityRecord;
  address: Address | null;
}

interface ContactRow {
  ref: DataQualityRecord;
  forename: string;
  surname: string;
  emails: Email[];
  phones: Phone[];
  address: Address | null;
}

interface LinkRow {
  pupilId: string;
  contactId: string;
  parentalResponsibility: boolean;
  livesWith: boolean;
}

// ------------------------------------------------------------------ normalising

/** Lower case, accents and punctuation dropped, runs of spaces made one. */
export function normaliseText(value: string | null | undefined): string {
  return (value ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

export function normalisePostcode(value: string | null | undefined): string {
  return (value ?? '').toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Digits only, with a UK international prefix (+44 / 0044) read as the leading 0; too short to mean anything: ''. */
export function normalisePhone(value: string | null | undefined): string {
  let digits = (value ?? '').replace(/\D/g, '');
  // "+44 (0)7700 …" carries the trunk 0 as well: keep one.
  if (digits.startsWith('0044')) digits = `0${digits.slice(4).replace(/^0/, '')}`;
  else if (digits.startsWith('44') && digits.length >= 11) digits = `0${digits.slice(2).replace(/^0/, '')}`;
  return digits.length >= 6 ? digits : '';
}

export function normaliseEmail(value: string | null | undefined): string {
  return (value ?? '').trim().toLowerCase();
}

/** Postcode and first address line, or null when either is missing. */
export function addressKey(address: Address | null | undefined): string | null {
  if (!address) return null;
  const postcode = normalisePostcode(address.postcode);
  const firstLine = normaliseText(list<string>(address.lines).find((line) => typeof line === 'string' && line.trim() !== ''));
  return postcode && firstLine ? `${postcode}|${firstLine}` : null;
}

// ------------------------------------------------------------------ loading

const displayName = (forename: string, surname: string) => `${forename} ${surname}`.replace(/\s+/g, ' ').trim();

function open(scope: TenantScope, purpose: string, sealed: string): Doc {
  return JSON.parse(scope.cipher.open(purpose, sealed)) as Doc;
}

async function load(scope: TenantScope): Promise<{ pupils: PupilRow[]; contacts: ContactRow[]; links: LinkRow[] }> {
  const pupilRows = await scope.trx.selectFrom('pupils').select(['id', 'mis_id', 'data_enc']).where('status', '=', 'current').execute();
  const pupils = pupilRows.map((row): PupilRow => {
    const d = open(scope, DATA_PURPOSE.pupils, row.data_enc);
    const forename = str(d.preferredForename) ?? str(d.legalForename) ?? '';
    const surname = str(d.preferredSurname) ?? str(d.legalSurname) ?? '';
    return { ref: { entity: 'pupils', id: row.id, misId: row.mis_id, name: displayName(forename, surname) }, address: (d.address as Address | null | undefined) ?? null };
  });
  const contactRows = await scope.trx.selectFrom('contacts').select(['id', 'mis_id', 'data_enc']).where('status', '=', 'current').execute();
  const contacts = contactRows.map((row): ContactRow => {
    const d = open(scope, DATA_PURPOSE.contacts, row.data_enc);
    const forename = str(d.forename) ?? '';
    const surname = str(d.surname) ?? '';
    return {
      ref: { entity: 'contacts', id: row.id, misId: row.mis_id, name: displayName(forename, surname) },
      forename,
      surname,
      emails: list<Email>(d.emails),
      phones: list<Phone>(d.phones),
      address: (d.address as Address | null | undefined) ?? null,
    };
  });
  const pupilIds = new Set(pupils.map((p) => p.ref.id));
  const contactIds = new Set(contacts.map((c) => c.ref.id));
  const linkRows = await scope.trx.selectFrom('pupil_contacts').select(['pupil_id', 'contact_id', 'data_enc']).execute();
  const links = linkRows
    .filter((row) => pupilIds.has(row.pupil_id) && contactIds.has(row.contact_id))
    .map((row): LinkRow => {
      const d = open(scope, DATA_PURPOSE.links, row.data_enc);
      return { pupilId: row.pupil_id, contactId: row.contact_id, parentalResponsibility: d.parentalResponsibility === true, livesWith: d.livesWith === true };
    });
  return { pupils, contacts, links };
}

// ------------------------------------------------------------------ checks

const byName = (a: DataQualityRecord, b: DataQualityRecord) =>
  a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.misId.localeCompare(b.misId) || a.id.localeCompare(b.id);

function unreachable(contacts: ContactRow[]): DataQualityIssue[] {
  return contacts
    .filter((c) => !c.emails.some((e) => normaliseEmail(e?.address) !== '') && !c.phones.some((p) => (p?.number ?? '').replace(/\D/g, '') !== ''))
    .map((c) => ({ check: 'contact-unreachable' as const, records: [c.ref] }));
}

function noParentalResponsibility(pupils: PupilRow[], links: LinkRow[]): DataQualityIssue[] {
  const covered = new Set(links.filter((l) => l.parentalResponsibility).map((l) => l.pupilId));
  return pupils.filter((p) => !covered.has(p.ref.id)).map((p) => ({ check: 'no-parental-responsibility' as const, records: [p.ref] }));
}

function duplicates(contacts: ContactRow[]): DataQualityIssue[] {
  const sameName = new Map<string, ContactRow[]>();
  for (const contact of contacts) {
    const name = `${normaliseText(contact.forename)}|${normaliseText(contact.surname)}`;
    if (name === '|') continue;
    sameName.set(name, [...(sameName.get(name) ?? []), contact]);
  }
  const issues: DataQualityIssue[] = [];
  for (const group of sameName.values()) {
    if (group.length < 2) continue;
    const keys = (c: ContactRow) =>
      new Set([
        ...c.emails.map((e) => normaliseEmail(e?.address)).filter(Boolean).map((e) => `e:${e}`),
        ...c.phones.map((p) => normalisePhone(p?.number)).filter(Boolean).map((p) => `p:${p}`),
        ...[normalisePostcode(c.address?.postcode)].filter(Boolean).map((p) => `a:${p}`),
      ]);
    // Union-find over the contacts of one name: joined when they share a key and differ in MIS id.
    const parent = group.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
    const keySets = group.map(keys);
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        if (group[i]!.ref.misId === group[j]!.ref.misId) continue;
        if ([...keySets[i]!].some((k) => keySets[j]!.has(k))) parent[find(i)] = find(j);
      }
    }
    const clusters = new Map<number, DataQualityRecord[]>();
    group.forEach((c, i) => clusters.set(find(i), [...(clusters.get(find(i)) ?? []), c.ref]));
    for (const records of clusters.values()) {
      if (records.length > 1 && new Set(records.map((r) => r.misId)).size > 1) issues.push({ check: 'duplicate-contact', records: records.sort(byName) });
    }
  }
  return issues;
}

function siblingsNotLinked(pupils: PupilRow[], contacts: ContactRow[], links: LinkRow[]): DataQualityIssue[] {
  const pupilById = new Map(pupils.map((p) => [p.ref.id, p]));
  const contactById = new Map(contacts.map((c) => [c.ref.id, c]));
  const linksOf = new Map<string, LinkRow[]>();
  for (const link of links) linksOf.set(link.contactId, [...(linksOf.get(link.contactId) ?? []), link]);

  /** Household pupils → contacts of the household linked to only some of them. Keyed by the sorted pupil ids. */
  const found = new Map<string, { pupilIds: string[]; contactIds: Set<string> }>();
  const consider = (pupilIds: string[], householdContacts: string[]) => {
    if (pupilIds.length < 2) return;
    const members = new Set(pupilIds);
    const partial = householdContacts.filter((contactId) => {
      const linked = new Set((linksOf.get(contactId) ?? []).map((l) => l.pupilId).filter((id) => members.has(id)));
      return linked.size > 0 && linked.size < members.size;
    });
    if (partial.length === 0) return;
    const key = [...members].sort().join(',');
    const entry = found.get(key) ?? { pupilIds: [...members], contactIds: new Set<string>() };
    for (const id of partial) entry.contactIds.add(id);
    found.set(key, entry);
  };

  // (a) Pupils at one home address.
  const homes = new Map<string, string[]>();
  for (const pupil of pupils) {
    const key = addressKey(pupil.address);
    if (key) homes.set(key, [...(homes.get(key) ?? []), pupil.ref.id]);
  }
  for (const [home, pupilIds] of homes) {
    const members = new Set(pupilIds);
    const householdContacts = contacts
      .filter((c) => addressKey(c.address) === home || (linksOf.get(c.ref.id) ?? []).some((l) => l.livesWith && members.has(l.pupilId)))
      .map((c) => c.ref.id);
    consider(pupilIds, householdContacts);
  }

  // (b) The pupils of contacts sharing a surname and an address.
  const families = new Map<string, string[]>();
  for (const contact of contacts) {
    const address = addressKey(contact.address);
    const surname = normaliseText(contact.surname);
    if (address && surname) families.set(`${surname}|${address}`, [...(families.get(`${surname}|${address}`) ?? []), contact.ref.id]);
  }
  for (const contactIds of families.values()) {
    const pupilIds = [...new Set(contactIds.flatMap((id) => (linksOf.get(id) ?? []).map((l) => l.pupilId)))];
    consider(pupilIds, contactIds);
  }

  return [...found.values()].map(({ pupilIds, contactIds }) => ({
    check: 'siblings-not-linked' as const,
    records: [
      ...pupilIds.map((id) => pupilById.get(id)!.ref).sort(byName),
      ...[...contactIds].map((id) => contactById.get(id)!.ref).sort(byName),
    ],
  }));
}

/** The school's data-quality report over its current records. */
export async function dataQualityReport(scope: TenantScope): Promise<DataQualityReport> {
  const { pupils, contacts, links } = await load(scope);
  const issues = [
    ...unreachable(contacts),
    ...noParentalResponsibility(pupils, links),
    ...duplicates(contacts),
    ...siblingsNotLinked(pupils, contacts, links),
  ];
  const order = (check: DataQualityCheck) => DATA_QUALITY_CHECKS.indexOf(check);
  issues.sort((a, b) => order(a.check) - order(b.check) || byName(a.records[0]!, b.records[0]!));
  const counts: Record<string, number> = Object.fromEntries(DATA_QUALITY_CHECKS.map((check) => [check, 0]));
  for (const issue of issues) counts[issue.check] = (counts[issue.check] ?? 0) + 1;
  return { checkedAt: new Date().toISOString(), issues, counts };
}
