import { describe, expect, it } from 'vitest';
import { attendanceCategory, isAttendanceCode, isValidUpn } from '../codes.ts';
import { fakeSchool, fakeSchoolDays } from './fake-school.ts';

describe('fakeSchool', () => {
  it('is deterministic per seed', () => {
    const a = fakeSchool({ pupils: 60, seed: 7, attendanceDays: 3 });
    const b = fakeSchool({ pupils: 60, seed: 7, attendanceDays: 3 });
    const c = fakeSchool({ pupils: 60, seed: 8, attendanceDays: 3 });
    expect(b).toEqual(a);
    expect(c.pupils.map((p) => p.legalSurname)).not.toEqual(a.pupils.map((p) => p.legalSurname));
  });

  it('builds the benchmark school quickly and at the documented size', () => {
    // CPU time rather than wall time, so that a busy machine does not fail the test (~0.3 s alone).
    const cpu = process.cpuUsage();
    const school = fakeSchool({ pupils: 2_000, seed: 20261124, attendanceDays: 60, phase: 'secondary' });
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(2_000);

    expect(school.mode).toBe('full');
    expect(school.pupils).toHaveLength(2_000);
    expect(school.contacts.length / 2_000).toBeGreaterThan(1.6);
    expect(school.contacts.length / 2_000).toBeLessThan(1.9);
    expect(school.staff.length).toBeGreaterThan(140);
    expect(school.staff.length).toBeLessThan(165);
    expect(school.groups.length).toBeGreaterThan(280);
    expect(school.groups.length).toBeLessThan(320);
    expect(school.attendance).toHaveLength(240_000);
    expect(school.errors).toEqual([]);

    const present = school.attendance.filter((a) => attendanceCategory(a.code) === 'present').length / school.attendance.length;
    expect(present).toBeGreaterThan(0.92);
    expect(present).toBeLessThan(0.96);
    expect(school.attendance.every((a) => isAttendanceCode(a.code))).toBe(true);
    expect(new Set(school.attendance.map((a) => a.code)).size).toBeGreaterThan(12);
  });

  it('keeps its records consistent with each other', () => {
    const school = fakeSchool({ pupils: 400, seed: 3, attendanceDays: 5 });
    const pupilIds = new Set(school.pupils.map((p) => p.misId));
    const staffIds = new Set(school.staff.map((s) => s.misId));
    expect(pupilIds.size).toBe(400);
    const upns = school.pupils.map((p) => p.upn!);
    expect(new Set(upns).size).toBe(400);
    expect(upns.every(isValidUpn)).toBe(true);

    for (const c of school.contacts) {
      expect(c.links.length).toBeGreaterThan(0);
      for (const l of c.links) expect(pupilIds.has(l.pupilMisId)).toBe(true);
    }
    // Siblings share parents: some contacts are linked to more than one pupil.
    expect(school.contacts.filter((c) => c.links.length > 1).length).toBeGreaterThan(20);
    // Every pupil has at least one contact with parental responsibility, priorities 1..n.
    const linksByPupil = new Map<string, number[]>();
    for (const c of school.contacts) for (const l of c.links) linksByPupil.set(l.pupilMisId, [...(linksByPupil.get(l.pupilMisId) ?? []), l.priority!]);
    for (const id of pupilIds) expect([...(linksByPupil.get(id) ?? [])].sort()).toEqual(Array.from({ length: linksByPupil.get(id)!.length }, (_, i) => i + 1));

    const kinds = new Map<string, number>();
    for (const g of school.groups) {
      kinds.set(g.kind, (kinds.get(g.kind) ?? 0) + 1);
      for (const id of g.pupilMisIds) expect(pupilIds.has(id)).toBe(true);
      for (const id of g.staffMisIds) expect(staffIds.has(id)).toBe(true);
    }
    expect(kinds.get('year')).toBe(7);
    expect(kinds.get('house')).toBe(4);
    for (const g of school.groups.filter((x) => x.kind === 'registration')) {
      expect(g.pupilMisIds.length).toBeLessThanOrEqual(28);
      for (const id of g.pupilMisIds) expect(school.pupils.find((p) => p.misId === id)!.registrationGroup).toBe(g.code);
    }
    // Each pupil is in exactly one year group, matching yearGroup.
    for (const p of school.pupils) {
      const years = school.groups.filter((g) => g.kind === 'year' && g.pupilMisIds.includes(p.misId));
      expect(years.map((g) => g.code)).toEqual([p.yearGroup]);
      expect(p.fsmEligible).toBe((p.fsmPeriods ?? []).some((f) => !f.end));
    }
    expect(new Set(school.pupils.map((p) => p.senStatus))).toEqual(new Set(['N', 'K', 'E']));
    expect(school.pupils.some((p) => p.fsmEligible)).toBe(true);
  });

  it('uses clearly fake contact details only', () => {
    const school = fakeSchool({ pupils: 200, seed: 11 });
    const people = [...school.pupils, ...school.contacts, ...school.staff];
    for (const person of people) {
      for (const e of person.emails ?? []) expect(e.address).toMatch(/@example\.test$/);
      for (const ph of person.phones ?? []) expect(ph.number).toMatch(/^(07700 900\d{3}|020 7946 0\d{3}|0117 496 0\d{3})$/);
    }
    for (const a of [...school.pupils, ...school.contacts].map((p) => p.address)) expect(a?.postcode).toMatch(/^ZZ99 \d[A-Z]{2}$/);
    expect(school.school.laEstab).toMatch(/^999\d{4}$/);
  });

  it('marks AM and PM for each school day, skipping weekends', () => {
    const school = fakeSchool({ pupils: 30, seed: 5, attendanceDays: 12, phase: 'primary' });
    const days = fakeSchoolDays(12);
    expect(days[0]).toBe('2024-09-02');
    for (const d of days) expect([0, 6]).not.toContain(new Date(`${d}T00:00:00Z`).getUTCDay());
    expect(school.attendance).toHaveLength(30 * 12 * 2);
    const keys = new Set(school.attendance.map((a) => `${a.pupilMisId}|${a.date}|${a.session}`));
    expect(keys.size).toBe(school.attendance.length);
    expect(new Set(school.pupils.map((p) => p.yearGroup))).toEqual(new Set(['R', '1', '2', '3', '4', '5', '6']));
    expect(fakeSchool({ pupils: 0 }).pupils).toEqual([]);
  });
});
