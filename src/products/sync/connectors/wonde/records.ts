import type { z } from 'zod';
import {
  ETHNICITY_CODES,
  isEthnicityCode,
  isLanguageCode,
  isNcYearCode,
  isRelationshipCode,
  isUpnFormat,
  isValidUpn,
  LANGUAGE_CODES,
  SEN_PROVISION_CODES,
} from '../../codes.ts';
import type { ContactLink, GroupKind, GroupRecord, PupilRecord } from '../../model.ts';
import { compact } from '../compact.ts';
import type { groupSchema, Relationship, Student } from './schemas.ts';
import { bool, contactLines, dateOf, GENDER, RELATIONSHIP_LABELS, SEN_LABELS, str } from './values.ts';

/**
 * Wonde records → model records. A value that cannot be read is left unset, and one that is not a
 * code is kept as given, each with a warning at its JSON path.
 */
export class WondeRecords {
  constructor(private readonly warning: (location: string, message: string) => void) {}

  date(value: unknown, at: string): string | null | undefined {
    const d = dateOf(value);
    if (d === undefined) this.warning(at, 'is not a date; left unset');
    return d;
  }

  gender(value: string | null | undefined, at: string): string | null | undefined {
    if (value == null || value === '') return null;
    const g = GENDER[value.trim().toUpperCase()];
    if (g === undefined) this.warning(at, 'is not a gender this import reads; left unset');
    return g;
  }

  contactLink(pupilMisId: string, rel: Relationship, at: string): ContactLink {
    const link: ContactLink = { pupilMisId };
    if (!rel) return link;
    if (rel.relationship !== undefined) {
      const label = rel.relationship?.trim() ?? '';
      if (label === '') link.relationship = null;
      else if (isRelationshipCode(label.toUpperCase())) link.relationship = label.toUpperCase();
      else {
        const code = RELATIONSHIP_LABELS[label.toLowerCase().replace(/-/g, ' ').replace(/\s+/g, ' ')];
        if (code === undefined) this.warning(`${at}.relationship`, 'is not a relationship with a CBDS code; kept as given');
        link.relationship = code ?? label;
      }
    }
    if (rel.parental_responsibility !== undefined) link.parentalResponsibility = bool(rel.parental_responsibility) ?? null;
    if (rel.priority !== undefined) {
      const n = typeof rel.priority === 'number' ? rel.priority : Number.parseInt(rel.priority ?? '', 10);
      link.priority = Number.isInteger(n) && n > 0 ? n : null;
    }
    if (rel.lives_with_pupil !== undefined) link.livesWith = bool(rel.lives_with_pupil) ?? null;
    return link;
  }

  group(g: z.output<typeof groupSchema>, kind: GroupKind): GroupRecord {
    return {
      misId: g.id,
      kind,
      name: g.name,
      code: g.code ?? null,
      pupilMisIds: [...new Set((g.students ?? []).map((m) => m.id))],
      staffMisIds: [...new Set((g.employees ?? []).map((m) => m.id))],
    };
  }

  pupil(s: Student, at: string): PupilRecord {
    const edu = s.education_details;
    const ext = s.extended_details;
    const lines = contactLines(s.contact_details);
    const legalForename = str(s.legal_forename) ?? s.forename;
    const legalSurname = str(s.legal_surname) ?? s.surname;

    let upn: string | null | undefined;
    if (edu !== undefined) {
      const raw = str(edu.upn)?.toUpperCase();
      upn = raw ?? null;
      if (raw !== undefined && !isUpnFormat(raw)) {
        this.warning(`${at}.education_details.data.upn`, 'is not a UPN; left unset');
        upn = undefined;
      } else if (raw !== undefined && !isValidUpn(raw)) this.warning(`${at}.education_details.data.upn`, 'is a UPN whose check letter does not match; kept as given');
    }

    let ethnicity: string | null | undefined;
    let firstLanguage: string | null | undefined;
    let religion: string | null | undefined;
    let fsmEligible: boolean | null | undefined;
    let senStatus: string | null | undefined;
    if (ext !== undefined) {
      ethnicity = this.coded(ext.ethnicity_code, ext.ethnicity, ETHNICITY_CODES, isEthnicityCode, `${at}.extended_details.data.ethnicity`);
      firstLanguage = this.coded(ext.first_language_code, ext.first_language, LANGUAGE_CODES, isLanguageCode, `${at}.extended_details.data.first_language`);
      religion = str(ext.religion_code) ?? str(ext.religion) ?? null;
      fsmEligible = ext.free_school_meals == null ? null : (bool(ext.free_school_meals) ?? null);
      const sen = str(ext.sen_status);
      if (sen === undefined) senStatus = null;
      else {
        const upper = sen.toUpperCase();
        senStatus = Object.hasOwn(SEN_PROVISION_CODES, upper) ? upper : SEN_LABELS[sen.toLowerCase()];
        if (senStatus === undefined) {
          this.warning(`${at}.extended_details.data.sen_status`, 'is not a SEN provision code; kept as given');
          senStatus = sen;
        } else if (SEN_PROVISION_CODES[senStatus]?.legacy) this.warning(`${at}.extended_details.data.sen_status`, 'is a SEN provision code from before 2014; kept as given');
      }
    }

    const yearCode = str(s.year?.code);
    let yearGroup: string | null | undefined = s.year === undefined ? null : undefined;
    if (yearCode !== undefined) {
      const code = yearCode.replace(/^(year|yr|y)\s*/i, '').replace(/^0+(?=\d)/, '');
      yearGroup = isNcYearCode(code) ? code : /^reception$/i.test(code) ? 'R' : yearCode;
      if (yearGroup === yearCode && !isNcYearCode(yearCode)) this.warning(`${at}.year.data.code`, 'is not a National Curriculum year code; kept as given');
    } else if (s.year !== undefined) yearGroup = str(s.year.name) ?? null;
    const registration = s.registration ?? s.registration_group;

    return compact<PupilRecord>({
      misId: s.id,
      upn,
      admissionNumber: edu === undefined ? undefined : (str(edu.admission_number) ?? null),
      legalForename,
      legalSurname,
      middleNames: s.middle_names || null,
      preferredForename: s.forename !== legalForename ? s.forename : null,
      preferredSurname: s.surname !== legalSurname ? s.surname : null,
      dateOfBirth: this.date(s.date_of_birth, `${at}.date_of_birth`),
      gender: this.gender(s.gender, `${at}.gender`),
      ethnicity,
      religion,
      firstLanguage,
      address: lines.address,
      emails: lines.emails,
      phones: lines.phones,
      fsmEligible,
      senStatus,
      yearGroup,
      registrationGroup: registration ? (str(registration.code) ?? str(registration.name) ?? null) : null,
      house: s.house ? (str(s.house.name) ?? str(s.house.code) ?? null) : null,
      enrolmentDate: edu === undefined ? undefined : this.date(edu.admission_date, `${at}.education_details.data.admission_date`),
      leavingDate: edu === undefined ? undefined : this.date(edu.leaving_date, `${at}.education_details.data.leaving_date`),
    });
  }

  /** A CBDS code from a `…_code` field, else from a description; unknown → kept as given, with a warning. */
  private coded(
    codeValue: unknown,
    labelValue: unknown,
    table: Readonly<Record<string, string | { description: string }>>,
    known: (code: string) => boolean,
    at: string,
  ): string | null {
    const code = str(codeValue)?.toUpperCase();
    if (code !== undefined) {
      if (!known(code)) this.warning(`${at}_code`, 'is not a CBDS code; kept as given');
      return code;
    }
    const label = str(labelValue);
    if (label === undefined) return null;
    if (known(label.toUpperCase())) return label.toUpperCase();
    const wanted = label.toLowerCase();
    for (const [c, v] of Object.entries(table)) if ((typeof v === 'string' ? v : v.description).toLowerCase() === wanted) return c;
    this.warning(at, 'has no CBDS code; kept as given');
    return label;
  }
}
