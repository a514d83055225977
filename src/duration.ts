/**
 * Durations as people type them on a command line ("30d", "12h", "90m", "2w", "3600s", "1d12h"), in seconds.
 */

/** Seconds in one of each unit. */
export const DURATION_UNITS = { s: 1, m: 60, h: 60 * 60, d: 24 * 60 * 60, w: 7 * 24 * 60 * 60 } as const;

export type DurationUnit = keyof typeof DURATION_UNITS;

const PART = /(\d+)([smhdw])/gy;

/**
 * Parses a duration: one or more `<integer><unit>` parts, the units being `s` (seconds), `m` (minutes), `h` (hours),
 * `d` (days) and `w` (weeks); "1d12h" is 36 hours. Returns whole seconds, more than zero.
 * @throws Error with a sentence saying what was expected, for anything else (no unit, an unknown unit, zero)
 */
export function parseDuration(text: string): number {
  const input = text.trim().toLowerCase();
  const expected = `use a number followed by a unit: s, m, h, d or w (for example "30d", "12h", "90m", "2w", "3600s")`;
  if (input.length === 0) throw new Error(`Empty duration: ${expected}`);
  if (/^\d+$/.test(input)) throw new Error(`Duration "${text}" has no unit: ${expected}`);

  let seconds = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(input); match !== null; match = PART.exec(input)) {
    seconds += Number(match[1]) * DURATION_UNITS[match[2] as DurationUnit];
    consumed = PART.lastIndex;
  }
  if (consumed !== input.length) throw new Error(`Invalid duration "${text}": ${expected}`);
  if (!Number.isSafeInteger(seconds)) throw new Error(`Duration "${text}" is too long`);
  if (seconds === 0) throw new Error(`Duration "${text}" is zero: a duration must be at least one second`);
  return seconds;
}

/** Formats seconds with the largest units that divide them: 90000 -> "1d1h", 0 -> "0s". */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new Error(`Invalid number of seconds: ${seconds}`);
  if (seconds === 0) return "0s";
  let rest = seconds;
  let text = "";
  for (const unit of ["w", "d", "h", "m", "s"] as const) {
    const size = DURATION_UNITS[unit];
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
}
