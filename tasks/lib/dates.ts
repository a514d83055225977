/**
 * Dates and durations as the command line reads them, strictly: ISO 8601 (`2027-02-01`, `2027-02-01T09:00Z`,
 * `2027-02-01T09:00:00+02:00`) or unix seconds, nothing else, and no term longer than 100 years. Errors name the
 * option the user typed.
 */
import { parseDuration } from "../../src/duration";
import { UserError } from "../../scripts/lib/errors";

/** The longest duration or term accepted: 100 years of 365.25 days. */
export const MAX_TERM_SECONDS = 36_525 * 24 * 60 * 60;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;
const HINT = "use an ISO 8601 date such as 2027-02-01 or 2027-02-01T09:00Z, or unix seconds";

/** Unix seconds of a date option. */
export function parseDate(value: string, option: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    if (text.length >= 13) {
      throw new UserError(`--${option} ${text} looks like milliseconds: give unix seconds (${text.slice(0, -3)})`);
    }
    return seconds;
  }
  if (/^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$/.test(text)) {
    throw new UserError(
      `--${option} "${text}" is ambiguous (day/month or month/day?): write it year-month-day, ` +
        `e.g. 2027-02-01 for 1 February 2027, or give unix seconds`,
    );
  }
  const dateOnly = DATE_ONLY.exec(text);
  const dateTime = DATE_TIME.exec(text);
  const parts = dateOnly ?? dateTime;
  if (!parts) {
    if (/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(text)) {
      throw new UserError(
        `--${option} "${text}" has no time zone: add Z for UTC (${text}Z) or an offset such as +02:00`,
      );
    }
    throw new UserError(`--${option} "${text}" is not a date: ${HINT}`);
  }
  const milliseconds = Date.parse(dateOnly ? `${text}T00:00:00Z` : text);
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (
    Number.isNaN(milliseconds) ||
    calendar.getUTCFullYear() !== year ||
    calendar.getUTCMonth() !== month - 1 ||
    calendar.getUTCDate() !== day ||
    (dateTime !== null && (Number(parts[4]) > 23 || Number(parts[5]) > 59))
  ) {
    throw new UserError(`--${option} "${text}" is not a real date: ${HINT}`);
  }
  return Math.floor(milliseconds / 1000);
}

/** Seconds of a duration option ("30d"), at most 100 years. */
export function parseDurationOption(value: string, option: string): number {
  let seconds: number;
  try {
    seconds = parseDuration(value);
  } catch (error) {
    throw new UserError(`--${option}: ${(error as Error).message}`);
  }
  if (seconds > MAX_TERM_SECONDS) {
    throw new UserError(`--${option} ${value.trim()} is longer than 100 years: give a shorter duration`);
  }
  return seconds;
}

/**
 * The end of a term from `--duration` (counted from `start`, else `now`) or `--expires` (a date): exactly one of
 * them, in the future, at most 100 years away.
 */
export function parseExpiry(args: { duration?: string; expires?: string }, now: number, start?: number): number {
  const duration = args.duration?.trim();
  const expires = args.expires?.trim();
  if (duration && expires) throw new UserError("Give either --duration or --expires, not both");
  if (!duration && !expires) {
    throw new UserError(`Missing --duration or --expires: give a duration such as "30d" or an ISO date`);
  }
  if (duration) return (start ?? now) + parseDurationOption(duration, "duration");
  const expiresAt = parseDate(expires as string, "expires");
  if (expiresAt <= now) {
    throw new UserError(
      `--expires ${expires} is in the past (chain time is ${new Date(now * 1000).toISOString().replace(".000Z", "Z")})`,
    );
  }
  if (expiresAt - now > MAX_TERM_SECONDS) {
    throw new UserError(`--expires ${expires} is more than 100 years away: give an earlier date`);
  }
  return expiresAt;
}

/** The optional `--not-before` date (0 when absent: in force at once). */
export function parseNotBefore(value: string | undefined): number {
  return value?.trim() ? parseDate(value, "not-before") : 0;
}
