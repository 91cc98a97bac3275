import { describe, expect, it } from 'vitest';
import {
  ATTENDANCE_CODES,
  attendanceCategory,
  ETHNICITY_CODES,
  isAttendanceCode,
  isEthnicityCode,
  isGenderCode,
  isIsoDate,
  isLanguageCode,
  isNcYearCode,
  isSenProvisionCode,
  isUpnFormat,
  isValidUpn,
  MAIN_ETHNICITY_CODES,
  mainEthnicity,
  upnCheckLetter,
  yearGroupName,
} from './codes.ts';

describe('attendance codes', () => {
  it('lists every code of the August 2024 guidance with its category', () => {
    const current = Object.entries(ATTENDANCE_CODES).filter(([, c]) => !c.legacy).map(([code]) => code);
    expect(current.sort()).toEqual(
      ['/', '\\', 'L', 'K', 'V', 'P', 'W', 'B', 'D', 'C1', 'M', 'J1', 'S', 'X', 'C2', 'C', 'T', 'R', 'I', 'E', 'Q', 'Y1', 'Y2', 'Y3', 'Y4', 'Y5', 'Y6', 'Y7', 'G', 'N', 'O', 'U', 'Z', '#'].sort(),
    );
    expect(attendanceCategory('/')).toBe('present');
    expect(attendanceCategory('\\')).toBe('present');
    expect(attendanceCategory('L')).toBe('present');
    expect(attendanceCategory('V')).toBe('approved-educational-activity');
    expect(attendanceCategory('I')).toBe('authorised-absence');
    expect(attendanceCategory('J1')).toBe('authorised-absence');
    expect(attendanceCategory('C2')).toBe('authorised-absence');
    expect(attendanceCategory('G')).toBe('unauthorised-absence');
    expect(attendanceCategory('N')).toBe('unauthorised-absence');
    expect(attendanceCategory('U')).toBe('unauthorised-absence');
    expect(attendanceCategory('Y4')).toBe('unable-to-attend');
    expect(attendanceCategory('Q')).toBe('unable-to-attend');
    expect(attendanceCategory('X')).toBe('not-required');
    expect(attendanceCategory('#')).toBe('administrative');
    expect(attendanceCategory('Z')).toBe('administrative');
  });

  it('keeps the retired codes, marked legacy, and knows nothing of made-up ones', () => {
    for (const code of ['H', 'F', 'J', 'Y']) {
      expect(isAttendanceCode(code)).toBe(true);
      expect(ATTENDANCE_CODES[code]!.legacy).toBe(true);
    }
    expect(isAttendanceCode('-')).toBe(false);
    expect(isAttendanceCode('Y8')).toBe(false);
    expect(attendanceCategory('toString')).toBeUndefined();
    expect(attendanceCategory('__proto__')).toBeUndefined();
  });

  it('counts only the sessions the DfE counts as possible', () => {
    const notPossible = Object.entries(ATTENDANCE_CODES).filter(([, c]) => !c.possible && !c.legacy).map(([code]) => code);
    expect(notPossible.sort()).toEqual(['#', 'D', 'Q', 'X', 'Y1', 'Y2', 'Y3', 'Y4', 'Y5', 'Y6', 'Y7', 'Z'].sort());
  });
});

describe('ethnicity codes', () => {
  it('has the 20 main categories and rolls every extended code up to one of them', () => {
    expect(Object.keys(MAIN_ETHNICITY_CODES)).toHaveLength(20);
    for (const [code, entry] of Object.entries(ETHNICITY_CODES)) {
      expect(code).toMatch(/^[A-Z]{4}$/);
      expect(Object.hasOwn(MAIN_ETHNICITY_CODES, entry.main)).toBe(true);
      expect(entry.description.length).toBeGreaterThan(2);
    }
    expect(Object.keys(ETHNICITY_CODES).length).toBeGreaterThan(80);
    expect(mainEthnicity('WENG')).toBe('WBRI');
    expect(mainEthnicity('BNGN')).toBe('BAFR');
    expect(mainEthnicity('WBRI')).toBe('WBRI');
    expect(mainEthnicity('XXXX')).toBeUndefined();
    expect(isEthnicityCode('WIRT')).toBe(true);
    expect(isEthnicityCode('wbri')).toBe(false);
    expect(isEthnicityCode('constructor')).toBe(false);
  });
});

describe('other code lists', () => {
  it('knows gender, SEN provision, languages and NC years', () => {
    expect(['M', 'F', 'U', 'X'].every(isGenderCode)).toBe(true);
    expect(isGenderCode('Q')).toBe(false);
    expect(['N', 'K', 'E'].every(isSenProvisionCode)).toBe(true);
    expect(isSenProvisionCode('S')).toBe(false); // statements ended in 2014
    expect(isLanguageCode('ENG')).toBe(true);
    expect(isLanguageCode('XYZ')).toBe(false);
    expect(isNcYearCode('R')).toBe(true);
    expect(isNcYearCode('15')).toBe(false);
    expect(yearGroupName('R')).toBe('Reception');
    expect(yearGroupName('7')).toBe('Year 7');
    expect(yearGroupName('N2')).toBe('Nursery 2');
  });
});

describe('UPN', () => {
  it('computes a check letter that validates, and rejects any single changed digit', () => {
    const rest = '999400124001';
    const upn = upnCheckLetter(rest)! + rest;
    expect(isValidUpn(upn)).toBe(true);
    for (let i = 1; i < 12; i++) {
      const digit = upn[i] === '9' ? '0' : String(Number(upn[i]) + 1);
      const changed = upn.slice(0, i) + digit + upn.slice(i + 1);
      expect(isUpnFormat(changed)).toBe(true);
      expect(isValidUpn(changed)).toBe(false);
    }
    // Temporary UPNs end in a letter.
    const temp = '99940012400A';
    expect(isValidUpn(upnCheckLetter(temp)! + temp)).toBe(true);
    expect(isUpnFormat('I99940012400')).toBe(false); // I is not a check letter
    expect(isUpnFormat('A12345')).toBe(false);
    expect(upnCheckLetter('12345')).toBeUndefined();
  });
});

describe('ISO dates', () => {
  it('accepts real calendar dates only', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2000-02-29')).toBe(true);
    expect(isIsoDate('1900-02-29')).toBe(false);
    expect(isIsoDate('2024-13-01')).toBe(false);
    expect(isIsoDate('2024-04-31')).toBe(false);
    expect(isIsoDate('05/03/2014')).toBe(false);
    expect(isIsoDate('2024-1-1')).toBe(false);
  });
});
