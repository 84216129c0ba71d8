/**
 * A column's value as the row types want it: SQLite's NULL (or a column the row lacks) as null,
 * anything else as a number or a text.
 *
 * @module
 */

export function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function textOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** A JSON list column (an incident's ports or peers); empty where it is not one. */
export function jsonList<T>(value: unknown): T[] {
  try {
    const list = JSON.parse(String(value));
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}
