import { TELEPHONE_TYPE_CODES } from '../../codes.ts';
import type { Address, Phone } from '../../model.ts';
import type { CtfContext } from './elements.ts';

/** Addresses (BS7666 or plain address lines) and phones, of a pupil or of a contact. */

export interface AddressState {
  saon?: string;
  paon?: string;
  street?: string;
  locality?: string;
  town?: string;
  postTown?: string;
  administrativeArea?: string;
  county?: string;
  postcode?: string;
  lines: string[];
}

export interface PhoneState {
  type?: string | null;
  number?: string;
}

/** One field of an Address, by its path under Address (BS7666 parts, address lines, county, postcode). */
export function addressField(a: AddressState, field: string, value: string): void {
  if (!value) return;
  switch (field) {
    case 'BS7666Address/SAON':
      a.saon = value;
      return;
    case 'BS7666Address/PAON':
      a.paon = value;
      return;
    case 'BS7666Address/Street':
      a.street = value;
      return;
    case 'BS7666Address/Locality':
      a.locality = value;
      return;
    case 'BS7666Address/Town':
      a.town = value;
      return;
    case 'BS7666Address/PostTown':
      a.postTown = value;
      return;
    case 'BS7666Address/AdministrativeArea':
      a.administrativeArea = value;
      return;
    case 'County':
      a.county = value;
      return;
    case 'PostCode':
    case 'Postcode':
      a.postcode = value;
      return;
    default:
      if (/^AddressLines\/AddressLine[1-5]$/.test(field)) a.lines.push(value);
      return;
  }
}

/** One field of a Phone ('' is the Phone element itself): the phone still being read, null once it is closed. */
export function phoneField(r: CtfContext, ph: PhoneState | null, field: string, value: string, into: Phone[]): PhoneState | null {
  if (!ph) return ph;
  if (field === '/TelephoneType') {
    if (!value) return ph;
    const known = TELEPHONE_TYPE_CODES[value];
    if (!known) r.warn(r.here(), 'unknown telephone type recorded as other');
    ph.type = known?.modelType ?? 'other';
  } else if (field === '/PhoneNo') {
    ph.number = value || undefined;
  } else if (field === '') {
    if (ph.number) into.push(ph.type === undefined ? { number: ph.number } : { number: ph.number, type: ph.type });
    return null;
  }
  return ph;
}

/** The model's address: the address lines if given, else the BS7666 parts; undefined when there is nothing to go on. */
export function toAddress(a: AddressState): Address | undefined {
  const lines = a.lines.length > 0 ? a.lines : [a.saon, a.paon, a.street, a.locality].filter((l): l is string => !!l);
  const town = a.postTown ?? a.town;
  const county = a.administrativeArea ?? a.county;
  if (lines.length === 0 && !town && !a.postcode) return undefined;
  const address: Address = { lines };
  if (town) address.town = town;
  if (county) address.county = county;
  if (a.postcode) address.postcode = a.postcode;
  return address;
}

