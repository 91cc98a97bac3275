import { describe, expect, it } from 'vitest';
import { parseMtdPeriod, quarterDueOn, quartersOfTaxYear, taxYearStartYear, ukDate, ukEndOfDay } from './mtd-periods.ts';

describe('MTD for Income Tax quarterly periods', () => {
  it('splits the tax year into the four standard quarters with deadlines on the 7th of the next month', () => {
    expect(quartersOfTaxYear(2026).map((q) => [q.period, q.start, q.end, q.deadline])).toEqual([
      ['2026-27-Q1', '2026-04-06', '2026-07-05', '2026-08-07'],
      ['2026-27-Q2', '2026-07-06', '2026-10-05', '2026-11-07'],
      ['2026-27-Q3', '2026-10-06', '2027-01-05', '2027-02-07'],
      ['2026-27-Q4', '2027-01-06', '2027-04-05', '2027-05-07'],
    ]);
    expect(quartersOfTaxYear(2099)[0]!.period).toBe('2099-00-Q1');
  });

  it('knows which tax year a day is in', () => {
    expect(taxYearStartYear('2026-04-05')).toBe(2025);
    expect(taxYearStartYear('2026-04-06')).toBe(2026);
    expect(taxYearStartYear('2027-01-10')).toBe(2026);
  });

  it('finds the quarter due from the day after it ends until its deadline, and none between', () => {
    expect(quarterDueOn('2026-07-05')).toBeUndefined();
    expect(quarterDueOn('2026-07-06')?.period).toBe('2026-27-Q1');
    expect(quarterDueOn('2026-08-07')?.period).toBe('2026-27-Q1');
    expect(quarterDueOn('2026-08-08')).toBeUndefined();
    expect(quarterDueOn('2026-10-06')?.period).toBe('2026-27-Q2');
    expect(quarterDueOn('2027-01-06')?.period).toBe('2026-27-Q3');
    expect(quarterDueOn('2027-02-07')?.period).toBe('2026-27-Q3');
    // Q4 ends on the last day of the tax year: due in the next one.
    expect(quarterDueOn('2027-04-06')?.period).toBe('2026-27-Q4');
    expect(quarterDueOn('2027-05-07')?.period).toBe('2026-27-Q4');
    expect(quarterDueOn('2027-05-08')).toBeUndefined();
  });

  it('reads period keys and refuses anything else', () => {
    expect(parseMtdPeriod('2026-27-Q3')).toMatchObject({ start: '2026-10-06', end: '2027-01-05', deadline: '2027-02-07', taxYearStart: '2026-04-06' });
    for (const bad of ['2026-28-Q1', '2026-27-Q5', '2026-27', 'x', '2026-27-Q1 ']) expect(parseMtdPeriod(bad), bad).toBeUndefined();
  });

  it('works in UK dates and ends the deadline day at midnight in London, summer or winter', () => {
    expect(ukDate(new Date('2026-07-05T23:30:00Z'))).toBe('2026-07-06');
    expect(ukDate(new Date('2026-12-31T23:30:00Z'))).toBe('2026-12-31');
    expect(ukEndOfDay('2026-08-07').toISOString()).toBe('2026-08-07T22:59:59.000Z');
    expect(ukEndOfDay('2027-02-07').toISOString()).toBe('2027-02-07T23:59:59.000Z');
  });
});
