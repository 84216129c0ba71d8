/**
 * Text from outside pad (process names, file names, DNS names) made safe to print: a local
 * user can name a process `\x1b]2;…` or `\u202e…`, which a terminal would obey or a reader be
 * fooled by. Every human-facing output (tables, TSV, CSV, logs, the report) shows them escaped;
 * JSON escapes them itself.
 *
 * @module
 */

/** C0 and C1 control characters, DEL, and the bidirectional overrides and isolates. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with each control character written as `\xNN` (or `\uNNNN`), visible and inert;
 * with `keepLines`, tabs and line breaks stay (a quoted CSV field holds them as they are).
 */
export function printable(text: string, keepLines = false): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (keepLines && (c === "\t" || c === "\n" || c === "\r")) return c;
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
