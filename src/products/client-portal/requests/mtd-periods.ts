/**
 * Making Tax Digital for Income Tax: the quarterly update periods and their deadlines.
 *
 * Confirmed (July 2026) against published guidance on MTD for Income Tax quarterly updates:
 *   - the tax year runs 6 April to 5 April and has four standard update periods:
 *       Q1  6 April – 5 July       update due 7 August
 *       Q2  6 July – 5 October     update due 7 November
 *       Q3  6 October – 5 January  update due 7 February
 *       Q4  6 January – 5 April    update due 7 May
 *     i.e. the deadline is the 7th of the month after the period ends;
 *   - since 2025-26 each update is cumulative: it reports income and expenses totals by category
 *     from the start of the tax year to the end of the quarter (a later update restates, and so
 *     corrects, the earlier ones);
 *   - a "calendar quarters" election (1 April – 30 June, and so on) changes the periods but not
 *     the deadlines. Only the standard periods are supported here;
 *   - mandation starts with the 2026-27 tax year (first deadline 7 August 2026); earlier years are
 *     still computed, for clients who joined voluntarily.
 * Dates are calendar dates in the UK (Europe/London), written YYYY-MM-DD.
 */
export interface MtdQuarter {
  /** '2026-27-Q1': the tax year and the quarter. */
  period: string;
  taxYear: string;
  quarter: 1 | 2 | 3 | 4;
  /** Cumulative updates report from here (6 April of the tax year). */
  taxYearStart: string;
  start: string;
  end: string;
  /** HMRC's deadline for the update: the 7th of the month after the quarter ends. */
  deadline: string;
}

const pad = (n: number) => String(n).padStart(2, '0');
const date = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`;

/** The four standard quarters of the tax year starting 6 April `startYear`. */
export function quartersOfTaxYear(startYear: number): MtdQuarter[] {
  const taxYear = `${startYear}-${pad((startYear + 1) % 100)}`;
  const y = startYear;
  const spans: [number, string, string, string][] = [
    [1, date(y, 4, 6), date(y, 7, 5), date(y, 8, 7)],
    [2, date(y, 7, 6), date(y, 10, 5), date(y, 11, 7)],
    [3, date(y, 10, 6), date(y + 1, 1, 5), date(y + 1, 2, 7)],
    [4, date(y + 1, 1, 6), date(y + 1, 4, 5), date(y + 1, 5, 7)],
  ];
  return spans.map(([quarter, start, end, deadline]) => ({
    period: `${taxYear}-Q${quarter}`,
    taxYear,
    quarter: quarter as MtdQuarter['quarter'],
    taxYearStart: date(y, 4, 6),
    start,
    end,
    deadline,
  }));
}

/** The year in which the tax year containing `day` began. */
export function taxYearStartYear(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return m > 4 || (m === 4 && d >= 6) ? y : y - 1;
}

const PERIOD = /^(\d{4})-(\d{2})-Q([1-4])$/;

/** The quarter a period key names, or undefined for anything else ('2026-28-Q1' included). */
export function parseMtdPeriod(period: string): MtdQuarter | undefined {
  const match = PERIOD.exec(period);
  if (!match) return undefined;
  const startYear = Number(match[1]);
  if (startYear < 2000 || startYear > 2200 || Number(match[2]) !== (startYear + 1) % 100) return undefined;
  return quartersOfTaxYear(startYear)[Number(match[3]) - 1];
}

/**
 * The quarter whose update is due on `today`: one that has ended and whose deadline has not
 * passed. Requests are created from the day after a quarter ends to its deadline (a daily job
 * that missed a few days still catches up); outside those windows nothing is due.
 */
export function quarterDueOn(today: string): MtdQuarter | undefined {
  const startYear = taxYearStartYear(today);
  return [...quartersOfTaxYear(startYear - 1), ...quartersOfTaxYear(startYear)].find((q) => q.end < today && today <= q.deadline);
}

/** Today's date in the UK, whatever the server's time zone. */
export function ukDate(at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** The last second of a UK calendar day, as an instant (23:59:59 London time, GMT or BST). */
export function ukEndOfDay(day: string): Date {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d, 23, 59, 59);
  // London's offset from UTC at that moment: the formatted wall-clock time minus the instant.
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(naive))
    .reduce<Record<string, number>>((acc, p) => (p.type === 'literal' ? acc : { ...acc, [p.type]: Number(p.value) }), {});
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return new Date(naive - (wall - naive));
}
