import {
  isEthnicityCode,
  isGenderCode,
  isLanguageCode,
  isRelationshipCode,
  isSenProvisionCode,
  isValidUpn,
  SEN_PROVISION_CODES,
} from '../../codes.ts';
import type { ContactLink, ContactRecord, PupilRecord, StaffRecord } from '../../model.ts';
import { compact } from '../compact.ts';
import { at } from '../problems.ts';
import { address, bool, coded, date, emails, normaliseGender, normaliseRelationship, phones, required, text, yearGroup, type RowContext } from './values.ts';

/** One row → one model record (a contact row: the contact and its link to one pupil). */

export function pupilFrom(ctx: RowContext): PupilRecord | undefined {
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

export function staffFrom(ctx: RowContext): StaffRecord | undefined {
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

export function contactFrom(ctx: RowContext): { contact: ContactRecord; link: ContactLink } | undefined {
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
