import { isRelationshipCode } from '../../codes.ts';
import type { ContactLink, ContactRecord, Phone } from '../../model.ts';
import { toAddress, type AddressState } from './address.ts';
import type { CtfContext } from './elements.ts';

/** A pupil's contacts: their fields, and one record per person however many pupils list them. */

export interface ContactState {
  order: number | null;
  title?: string;
  surname?: string;
  forename?: string;
  relationship?: string;
  responsible?: boolean | null;
  address?: AddressState;
  phones: Phone[];
  email?: string;
  location: string;
  line: number;
  /** Position among this pupil's contacts (fallback when Order is missing). */
  position: number;
}

interface ContactEntry {
  key: string;
  record: ContactRecord;
  /** (pupil UPN, order under that pupil): the contact's id comes from the smallest UPN. */
  seenAs: { upn: string; order: number }[];
}

/** One field of a Contact (Order, Title, names, Relationship, Responsible, Email). */
export function contactField(r: CtfContext, c: ContactState, field: string, value: string): void {
  switch (field) {
    case '/Order': {
      if (!value) return;
      const n = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
      if (!(n >= 1)) {
        r.warn(r.here(), 'is not a positive whole number; contact priority left unset');
        return;
      }
      c.order = n;
      return;
    }
    case '/Title':
      c.title = value || undefined;
      return;
    case '/Surname':
      c.surname = value || undefined;
      return;
    case '/Forename':
      c.forename = value || undefined;
      return;
    case '/Relationship':
      if (!value) return;
      if (!isRelationshipCode(value)) r.warn(r.here(), 'unknown relationship code kept as given');
      c.relationship = value;
      return;
    case '/Responsible':
      if (!value) return;
      if (value === 'true' || value === '1') c.responsible = true;
      else if (value === 'false' || value === '0') c.responsible = false;
      else r.warn(r.here(), 'is not true or false; parental responsibility left unset');
      return;
    case '/Email':
      c.email = value || undefined;
      return;
    default:
      return;
  }
}

/**
 * The contacts of every pupil read so far, merged where the same person is listed under several
 * siblings.
 */
export class ContactBook {
  private readonly contactsByKey = new Map<string, ContactEntry>();
  private readonly contactOrder: ContactEntry[] = [];

  add(r: CtfContext, pupilMisId: string, c: ContactState): void {
    if (!c.surname) {
      r.fail(r.at(c.line, `${c.location}/Surname`), 'is required');
      return;
    }
    if (!c.forename) r.warn(r.at(c.line, `${c.location}/Forename`), 'is missing; contact kept with an empty forename');
    const address = c.address ? toAddress(c.address) : undefined;
    const norm = (s: string | undefined | null) => (s ?? '').toLowerCase().replace(/\s+/g, ' ').trim();
    // Dedupe key (kept in memory only, never written): the same person listed under several
    // siblings has the same name and the same address (or, without an address, the same phone or
    // e-mail). Without any of those the contact is not merged.
    const reach = address ? `a:${norm(address.postcode)}|${norm(address.lines[0])}` : c.phones[0] ? `p:${c.phones[0].number.replace(/\D/g, '')}` : c.email ? `e:${norm(c.email)}` : `u:${pupilMisId}#${c.position}`;
    const key = `${norm(c.title)}|${norm(c.forename)}|${norm(c.surname)}|${reach}`;
    const link: ContactLink = { pupilMisId };
    if (c.relationship) link.relationship = c.relationship;
    if (c.responsible !== undefined) link.parentalResponsibility = c.responsible;
    if (c.order !== null) link.priority = c.order;
    let entry = this.contactsByKey.get(key);
    if (!entry) {
      const record: ContactRecord = { misId: '', forename: c.forename ?? '', surname: c.surname, links: [] };
      if (c.title) record.title = c.title;
      if (c.email) record.emails = [{ address: c.email }];
      if (c.phones.length > 0) record.phones = c.phones;
      if (address) record.address = address;
      entry = { key, record, seenAs: [] };
      this.contactsByKey.set(key, entry);
      this.contactOrder.push(entry);
    }
    if (entry.record.links.some((l) => l.pupilMisId === pupilMisId)) return;
    entry.record.links.push(link);
    entry.seenAs.push({ upn: pupilMisId, order: c.order ?? c.position });
  }

  /** Every contact, each given its id. */
  build(): ContactRecord[] {
    const used = new Set<string>();
    const out: ContactRecord[] = [];
    for (const entry of this.contactOrder) {
      // CTF has no id for a contact. The id is the smallest UPN among the pupils this person is a
      // contact of, with their Order under that pupil: stable across imports while that pupil
      // stays on roll and the MIS keeps the order, and free of any hash of a name or address.
      let first = entry.seenAs[0]!;
      for (const s of entry.seenAs) if (s.upn < first.upn) first = s;
      let misId = `ctf:${first.upn}:${first.order}`;
      for (let n = 2; used.has(misId); n++) misId = `ctf:${first.upn}:${first.order}:${n}`;
      used.add(misId);
      entry.record.misId = misId;
      out.push(entry.record);
    }
    return out;
  }
}
