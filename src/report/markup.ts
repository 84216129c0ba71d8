/**
 * Markup that escapes by default: the `html` tag escapes every interpolated value except markup
 * built by this module, so a process name such as `<script>` from the database can only ever
 * become text. The same rules hold for SVG, which the report writes inline.
 *
 * @module
 */

import { printable } from "../text.ts";

/** A piece of markup that is already safe to insert as is. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What may be interpolated: text and numbers are escaped, markup is kept, lists are joined. */
export type Part = Markup | string | number | null | undefined | false | readonly Part[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * `text` with `& < > " '` replaced by entities: safe in element content and quoted attributes;
 * control characters are shown escaped (`\x1b`), as in every output people read.
 */
export function escapeText(text: string): string {
  return printable(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** One interpolated value as markup (`null`, `undefined` and `false` are nothing). */
export function render(part: Part): string {
  if (part instanceof Markup) return part.text;
  if (part === null || part === undefined || part === false) return "";
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeText(String(part));
}

/**
 * The literal parts of a template with the layout `deno fmt` gives them removed: a line break
 * and its indentation vanish next to a tag and become one space elsewhere (inside a tag, or
 * between words). Only pad's own literals are touched, never the values.
 */
function tidy(literal: string): string {
  return literal.replace(/>\s*\n\s*/g, ">").replace(/\s*\n\s*</g, "<").replace(/\s*\n\s*/g, " ");
}

/** Tidied literals per call site (a template's strings array is the same object every call). */
const tidied = new WeakMap<TemplateStringsArray, string[]>();

/** Template tag: the literal parts are markup, every `${value}` is escaped unless it is markup. */
export function html(strings: TemplateStringsArray, ...values: readonly Part[]): Markup {
  let parts = tidied.get(strings);
  if (!parts) {
    parts = strings.map(tidy);
    tidied.set(strings, parts);
  }
  let text = parts[0]!;
  for (let i = 0; i < values.length; i++) text += render(values[i]) + parts[i + 1]!;
  return new Markup(text);
}

/** Trusted markup written by pad itself (CSS, numbers formatted for attributes). */
export function raw(text: string): Markup {
  return new Markup(text);
}
