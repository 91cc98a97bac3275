import { isNcYearCode, isUpnFormat, yearGroupName } from '../../codes.ts';
import type { GroupRecord, PupilRecord } from '../../model.ts';

/** What both OneRoster connectors (CSV and REST) build records with. */

/** A UPN in an identifier (upper-cased), else undefined. */
export function upnFrom(value: string | null | undefined): string | undefined {
  return value != null && isUpnFormat(value.toUpperCase()) ? value.toUpperCase() : undefined;
}

/** Year groups, as the CTF connector makes them (`year:<code>`, 'Year 7'): only a full import lists every member. */
export function yearGroupsOf(pupils: readonly PupilRecord[]): GroupRecord[] {
  const years = new Map<string, string[]>();
  for (const p of pupils) {
    if (!p.yearGroup) continue;
    const list = years.get(p.yearGroup) ?? [];
    list.push(p.misId);
    years.set(p.yearGroup, list);
  }
  const groups: GroupRecord[] = [];
  for (const [code, pupilMisIds] of years) {
    groups.push({ misId: `year:${code}`, kind: 'year', name: isNcYearCode(code) ? yearGroupName(code) : code, code, pupilMisIds, staffMisIds: [] });
  }
  return groups;
}

/** Contact → the pupils it is linked to, each once, in the order first linked. */
export class ContactLinks {
  private readonly byContact = new Map<string, string[]>();

  add(contactId: string, pupilId: string): void {
    const pupils = this.byContact.get(contactId) ?? [];
    if (!pupils.includes(pupilId)) pupils.push(pupilId);
    this.byContact.set(contactId, pupils);
  }

  of(contactId: string): string[] {
    return this.byContact.get(contactId) ?? [];
  }
}
