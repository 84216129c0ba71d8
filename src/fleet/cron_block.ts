/**
 * pad's lines in a crontab: one block per database, between a `# BEGIN pad DB` and an
 * `# END pad DB` line, so installing again replaces the block and uninstalling removes exactly
 * it. Every line outside the blocks is kept byte for byte.
 *
 * @module
 */
import { PadError } from "../errors.ts";

/** The first line of the block of `db` (an absolute path). */
export function beginMarker(db: string): string {
  return `# BEGIN pad ${db}`;
}

/** The last line of the block of `db`. */
export function endMarker(db: string): string {
  return `# END pad ${db}`;
}

/** The block of `db` around its cron lines, without a final newline. */
export function cronBlock(db: string, lines: readonly string[]): string[] {
  return [
    beginMarker(db),
    '# added by "pad cron --install"; "pad cron --uninstall" removes this block',
    ...lines,
    endMarker(db),
  ];
}

/** A crontab after an edit, and whether anything changed. */
export interface CrontabEdit {
  text: string;
  changed: boolean;
  /** Blocks of the database that were there before. */
  found: number;
}

/**
 * Puts `block` in place of the database's block (where the first one was; further copies,
 * pasted by hand, go), or at the end when there was none.
 */
export function installBlock(crontab: string, db: string, block: readonly string[]): CrontabEdit {
  const { lines, blocks } = parse(crontab, db);
  const at = blocks[0]?.start ?? lines.length;
  const kept = withoutBlocks(lines, blocks);
  const text = join([...kept.slice(0, at), ...block, ...kept.slice(at)]);
  return { text, changed: text !== crontab, found: blocks.length };
}

/** Removes every block of the database. */
export function removeBlock(crontab: string, db: string): CrontabEdit {
  const { lines, blocks } = parse(crontab, db);
  if (blocks.length === 0) return { text: crontab, changed: false, found: 0 };
  const text = join(withoutBlocks(lines, blocks));
  return { text, changed: text !== crontab, found: blocks.length };
}

interface Block {
  /** Index of the begin line. */
  start: number;
  /** Index of the end line. */
  end: number;
}

function parse(crontab: string, db: string): { lines: string[]; blocks: Block[] } {
  const lines = split(crontab);
  const begin = beginMarker(db);
  const end = endMarker(db);
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== begin) continue;
    const close = lines.indexOf(end, i + 1);
    if (close < 0) {
      throw new PadError(
        `The crontab has "${begin}" without its "${end}" line: ` +
          "fix or remove pad's lines with crontab -e, then run pad cron again",
      );
    }
    blocks.push({ start: i, end: close });
    i = close;
  }
  return { lines, blocks };
}

/** The lines outside every block. */
function withoutBlocks(lines: readonly string[], blocks: readonly Block[]): string[] {
  return lines.filter((_, i) => !blocks.some((b) => i >= b.start && i <= b.end));
}

/** Lines without their newlines; a last line without one (not valid for cron) counts too. */
function split(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/**
 * Lines joined, each ending in a newline: crontab(1) refuses a last line without one, and some
 * crons ignore it.
 */
function join(lines: readonly string[]): string {
  return lines.map((line) => line + "\n").join("");
}
