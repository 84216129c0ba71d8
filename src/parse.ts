import { UsageError } from "./errors.ts";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** The shortest and longest a duration flag accepts, in ms. */
export interface DurationBounds {
  min: number;
  max: number;
}

/**
 * Parses a duration such as `500ms`, `5s`, `90m`, `36h`, `7d` or `2w` into milliseconds.
 * `what` names the flag in the error message; `bounds` are the shortest and longest it takes.
 */
export function parseDuration(text: string, what = "duration", bounds?: DurationBounds): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `Invalid ${what} "${text}": use a positive number with a unit ms, s, m, h, d or w (e.g. 90m, 36h, 7d)`,
    );
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
  if (bounds && !(ms >= bounds.min && ms <= bounds.max)) {
    throw new UsageError(
      `Invalid ${what} "${text}": use a duration from ${formatDuration(bounds.min)} to ${
        formatDuration(bounds.max)
      }`,
    );
  }
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new UsageError(`Invalid ${what} "${text}": it must be greater than zero`);
  }
  return ms;
}

/** A parser for a duration flag with bounds, for the command definitions. */
export function boundedDuration(
  min: number,
  max: number,
): (text: string, what: string) => number {
  return (text, what) => parseDuration(text, what, { min, max });
}

/** A duration as a person writes it: `7d`, `60s`, `90m`, `500ms` (the largest exact unit). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Parses a point in time: an ISO 8601 date or date-time (`2026-11-21`, `2026-11-21T08:00:00Z`)
 * or a duration before `now` (`2h` means two hours ago). Returns milliseconds since the epoch.
 */
export function parseTime(text: string, what = "time", now = Date.now()): number {
  if (DURATION.test(text.trim())) return now - parseDuration(text, what);
  // Only ISO-looking text goes to Date.parse, which accepts too much otherwise ("1", "May").
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(
    `Invalid ${what} "${text}": use an ISO 8601 time (2026-11-21T08:00:00Z) or an age like 2h or 7d`,
  );
}

/** Parses a whole number of at least `min` (default 0), e.g. for `--limit`. */
export function parseCount(text: string, what: string, min = 0): number {
  const trimmed = text.trim();
  const n = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Invalid ${what} "${text}": use a whole number of at least ${min}`);
  }
  return n;
}

/** Parses a size in megabytes (`--max-size 500`, decimals allowed) into bytes. */
export function parseMegabytes(text: string, what: string): number {
  const trimmed = text.trim();
  const mb = Number(trimmed);
  if (!/^\d+(\.\d+)?$/.test(trimmed) || !(mb > 0)) {
    throw new UsageError(
      `Invalid ${what} "${text}": use a size in megabytes greater than zero, e.g. 500`,
    );
  }
  return Math.round(mb * 1_000_000);
}

/** Checks `text` is one of `choices`; the error lists them. */
export function parseChoice<T extends string>(
  text: string,
  what: string,
  choices: readonly T[],
): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`Invalid ${what} "${text}": use one of ${choices.join(", ")}`);
}

/** A file path that is not empty (an empty `--db ""` would otherwise mean the current directory). */
export function parsePath(text: string, what: string): string {
  if (text.trim() === "") throw new UsageError(`Invalid ${what} "": give a file path`);
  return text;
}
