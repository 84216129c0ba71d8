/** How the report writes times and numbers: ISO 8601 in UTC, and figures people can read. */
import { count } from "../number_text.ts";
import { isoString } from "../time.ts";

export { count };

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** `2026-03-02 14:05:00Z`: ISO 8601 in UTC, with a space so it wraps and reads well. */
export function isoTime(ms: number): string {
  return isoString(ms).replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

/** `2026-03-02 14:05Z`: minutes are enough for axis titles and ranges of rounds. */
export function isoMinute(ms: number): string {
  return isoTime(ms).replace(/:\d{2}Z$/, "Z");
}

/** A score or loss with three significant digits (`9.87`, `104`, `0.0123`). */
export function figure(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const abs = Math.abs(x);
  if (abs >= 1000) return count(x);
  return Number(x.toPrecision(3)).toString();
}

/** A duration in the largest unit that keeps it whole enough: `7 min`, `2 h`, `1.5 d`. */
export function duration(ms: number): string {
  if (ms < MINUTE) return `${figure(ms / 1000)} s`;
  if (ms < HOUR) return `${figure(ms / MINUTE)} min`;
  if (ms < DAY) return `${figure(ms / HOUR)} h`;
  return `${figure(ms / DAY)} d`;
}

/** `1 round`, `3 rounds`. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${count(n)} ${n === 1 ? word : many}`;
}

/** How flows ended, the most common first: `1,986 unanswered, 6 open, 5 reset`. */
export function flowEndings(states: Record<string, number>): string {
  return Object.entries(states).sort((a, b) => b[1] - a[1])
    .map(([state, n]) => `${count(n)} ${state}`).join(", ");
}
