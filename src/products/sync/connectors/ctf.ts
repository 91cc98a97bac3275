import fs from 'node:fs';
import path from 'node:path';
import type { ImportBatch } from '../model.ts';
import { CtfReader } from './ctf/reader.ts';
import type { ImportSource } from './import-file.ts';

/**
 * DfE Common Transfer File (CTF) reader. Streams the file through saxes (never the whole file in
 * memory) into a `full` ImportBatch: pupils, their contacts, year groups (NCyearActual) and
 * session attendance. CTF carries no staff and no MIS ids.
 *
 * The structure followed (element names of the DfE CTF specification's "XML message structure",
 * CTF 15 onwards). Checked against public sources when written: the header and the Pupil / UPN /
 * Surname / Forename / DOB / Gender / BasicDetails / NCyearActual layout (a public MIS CTF writer),
 * the CTF 17–21 section list (FSM, SEN with start and end dates, address, contacts, attendance,
 * school history). Not confirmed against the specification text: the AttendanceStartDate /
 * AttendanceMarks names and the marks encoding below. Check both against the current CTF
 * specification and a real MIS export before relying on attendance read from a school's CTF.
 *
 *   CTfile
 *     Header: DocumentName, CTFversion, DateTime, DocumentQualifier, SupplierID,
 *             SourceSchool (LEA, Estab, URN, SchoolName, AcademicYear), DestSchool (LEA, Estab)
 *     CTFpupilData
 *       Pupil (repeated)
 *         UPN, UniqueLearnerNumber, UCI, Surname, Forename, DOB, Gender
 *         BasicDetails: FormerUPN, PreferredSurname, FormerSurname, PreferredForename, MiddleNames,
 *                       NCyearActual, Ethnicity, EthnicitySource, Languages/Type (LanguageType F =
 *                       first language, Language), MedicalFlag, Disabilities, EnrolStatus, …
 *         FSMhistory: FSMreviewDate, FSMinstance (FSMstartDate, FSMendDate, UKcountry)
 *         SENhistory: SEN (StartDate, EndDate, SENprovision), SENneeds
 *         Address: BS7666Address (SAON, PAON, Street, Locality, Town, AdministrativeArea, PostTown,
 *                  UniquePropertyReferenceNumber) or AddressLines (AddressLine1…5); County,
 *                  PostCode, Zip, Country
 *         Phones/Phone (TelephoneType, PhoneNo), Email
 *         Contacts/Contact: Order, Title, Surname, Forename, Gender, Relationship, Responsible,
 *                           Address, Phones, Email
 *         Attendance/YearData (repeated): Year, SessionsPossible, SessionsAuthorised,
 *                           SessionsUnauthorised, AttendanceStartDate, AttendanceMarks
 *         SchoolHistory/School: LEA, Estab, SchoolName, EntryDate, LeavingDate, LeavingReason
 *         StageAssessments, … (ignored)
 *
 * Tolerances (older layouts and hand-made files): Surname/Forename/DOB/Gender also accepted
 * inside BasicDetails; a plain BasicDetails/Language or FirstLanguage; AttendanceStartDate and
 * AttendanceMarks also accepted as StartDate / Marks and inside a SessionAttendance wrapper; a
 * non-standard BasicDetails/RegGroup (or Form) becomes a registration group when present.
 *
 * Attendance marks: one character per session from the AM session of AttendanceStartDate,
 * AM then PM, over consecutive calendar days. '-' (or a space) is "no mark"; '#' on a Saturday or
 * Sunday is "not a school day" and skipped ('#' on a weekday is the DfE planned-closure code and
 * kept). The August 2024 codes with a digit (C1, C2, J1, Y1–Y7) take two characters: a letter
 * followed by a digit is read as one code. That is this project's convention, not the DfE's (no
 * single-character code is a digit, so it cannot misread an older file).
 *
 * Problems: every one has a location `file.xml line N (CTfile/CTFpupilData/Pupil[12]/DOB)` and a
 * reason that never repeats a value from the file. Malformed XML ends the read with one error and
 * no records; the promise never rejects.
 */
export async function readCtf(source: ImportSource): Promise<ImportBatch> {
  const reader = new CtfReader(typeof source === 'string' ? path.basename(source) : source.name);
  try {
    const stream = typeof source === 'string' ? fs.createReadStream(source, { encoding: 'utf8', highWaterMark: 64 * 1024 }) : source.read().setEncoding('utf8');
    try {
      let first = true;
      for await (const chunk of stream as AsyncIterable<string>) {
        reader.write(first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk);
        first = false;
        if (reader.stopped) break;
      }
    } finally {
      stream.destroy();
    }
    return reader.finish();
  } catch (error) {
    return reader.abort(error);
  }
}
