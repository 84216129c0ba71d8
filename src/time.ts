/**
 * Times as people and scripts read them. A time a round cannot hold (stored by an older pad
 * from a damaged capture) is shown as its number, never an exception.
 *
 * @module
 */
import { isStorableTime } from "./round.ts";

/** `2026-03-02T14:05:00.000Z`, or `<N ms>` for a time no date can show. */
export function isoString(ms: number): string {
  return isStorableTime(ms) ? new Date(ms).toISOString() : `<${ms} ms>`;
}
