import { isAttendanceCode } from '../../codes.ts';
import type { AttendanceRecord } from '../../model.ts';
import type { CtfContext } from './elements.ts';

/**
 * Session attendance: a YearData's AttendanceStartDate and AttendanceMarks, expanded into one
 * record per session (see ctf.ts for how the marks are read).
 */

export interface YearDataState {
  startDate?: string;
  marks?: string;
  line: number;
  location: string;
  marksLine: number;
  marksLocation: string;
}

const DAY_MS = 86_400_000;
/** A marks string covers at most one academic year. */
const MAX_SESSIONS = 2 * 366;

/** One field of a YearData (its start date, its marks). */
export function yearDataField(r: CtfContext, y: YearDataState, field: string, value: string): void {
  switch (field) {
    case '/AttendanceStartDate':
    case '/StartDate':
    case '/SessionAttendance/AttendanceStartDate':
    case '/SessionAttendance/StartDate':
      if (value && r.checkDate(value)) y.startDate = value;
      return;
    case '/AttendanceMarks':
    case '/Marks':
    case '/SessionAttendance/AttendanceMarks':
    case '/SessionAttendance/Marks': {
      const frame = r.currentFrame();
      y.marks = value;
      y.marksLine = frame.line;
      y.marksLocation = r.locationPath();
      return;
    }
    default:
      return;
  }
}

/** Expands marks into records; a day's date is formatted once (a school's marks fall on the same few hundred days). */
export class AttendanceMarks {
  private readonly dateCache = new Map<number, string>();

  private isoFor(day: number): string {
    let s = this.dateCache.get(day);
    if (s === undefined) {
      s = new Date(day * DAY_MS).toISOString().slice(0, 10);
      this.dateCache.set(day, s);
    }
    return s;
  }

  /** A YearData's marks → one record per session with a mark, appended to `out`. */
  expand(r: CtfContext, out: AttendanceRecord[], pupilMisId: string, y: YearDataState): void {
    const marks = y.marks;
    if (!marks) return;
    if (!y.startDate) {
      r.fail(r.at(y.line, `${y.location}/AttendanceStartDate`), 'is required when AttendanceMarks are given');
      return;
    }
    const start = Math.round(Date.parse(`${y.startDate}T00:00:00Z`) / DAY_MS);
    let session = 0;
    let unknown = false;
    for (let i = 0; i < marks.length; i++) {
      let code = marks[i]!;
      const c0 = marks.charCodeAt(i);
      const next = marks.charCodeAt(i + 1);
      if (next >= 48 && next <= 57 && c0 >= 65 && c0 <= 90) {
        code += marks[i + 1];
        i++;
      }
      if (session >= MAX_SESSIONS) {
        r.fail(r.at(y.marksLine, y.marksLocation), 'is longer than one year of sessions');
        return;
      }
      const day = start + (session >> 1);
      const pm = (session & 1) === 1;
      session++;
      if (code === '-' || code === ' ' || code === '.') continue;
      if (code === '#') {
        const dow = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
        if (dow === 0 || dow === 6) continue;
      }
      if (!isAttendanceCode(code)) unknown = true;
      const rec: AttendanceRecord = { pupilMisId, date: this.isoFor(day), session: pm ? 'PM' : 'AM', code };
      out.push(rec);
    }
    if (unknown) r.warn(r.at(y.marksLine, y.marksLocation), 'contains unknown attendance codes kept as given');
  }
}
