import { printable } from "./text.ts";

/** Row formats `pad inspect` writes. */
export const ROW_FORMATS = ["table", "json", "csv", "tsv"] as const;
export type RowFormat = typeof ROW_FORMATS[number];

/** A cell as SQLite returns it. */
export type Cell = string | number | bigint | Uint8Array | null;
export type Row = Record<string, Cell>;

/** Writes rows in one format, one at a time where the format allows it (all but `table`). */
export interface RowWriter {
  row(row: Row): void;
  end(): void;
}

/**
 * Makes a writer for `format`. `display` turns a cell into what a person reads in the aligned
 * table (times as ISO 8601); machine formats keep stored values. Blobs are hex in every format.
 */
export function rowWriter(
  format: RowFormat,
  columns: readonly string[],
  write: (text: string) => void,
  display: (column: string, cell: Cell) => string = (_, cell) => plain(cell),
  maxWidth = Infinity,
): RowWriter {
  switch (format) {
    case "json":
      return {
        row: (row) => write(JSON.stringify(jsonRow(columns, row)) + "\n"),
        end: () => {},
      };
    case "csv":
    case "tsv": {
      const encode = format === "csv" ? csvField : tsvField;
      const separator = format === "csv" ? "," : "\t";
      write(columns.map(encode).join(separator) + "\n");
      return {
        row: (row) =>
          write(columns.map((c) => encode(plain(row[c] ?? null))).join(separator) + "\n"),
        end: () => {},
      };
    }
    case "table": {
      const rows: string[][] = [];
      return {
        row: (row) => rows.push(columns.map((c) => display(c, row[c] ?? null))),
        end: () => write(alignedTable(columns, rows, maxWidth)),
      };
    }
  }
}

/**
 * Columns padded to a common width, numbers right-aligned, one line per row; control
 * characters in cells are shown escaped. Within `maxWidth`, the columns that do not fit are
 * left out from the right (a last text column is shortened instead where that is enough), with
 * a last line counting them.
 */
export function alignedTable(
  allColumns: readonly string[],
  cells: readonly string[][],
  maxWidth = Infinity,
): string {
  let rows = cells.map((row) => row.map((cell) => printable(cell)));
  const columns = [...allColumns];
  let widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const total = () => widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  const left: string[] = [];
  while (total() > maxWidth && columns.length > 1) {
    const last = columns.length - 1;
    const room = maxWidth - (total() - widths[last]!);
    if (room >= Math.max(12, columns[last]!.length)) {
      rows = rows.map((r) =>
        r.map((c, i) => i === last && c.length > room ? c.slice(0, room - 1) + "…" : c)
      );
      widths[last] = room;
      break;
    }
    left.unshift(columns.pop()!);
    widths = widths.slice(0, last);
    rows = rows.map((r) => r.slice(0, last));
  }
  const note = left.length === 0
    ? ""
    : `(${left.length} more ${
      left.length === 1 ? "column" : "columns"
    }: --all-columns shows them)\n`;
  const numeric = columns.map((_, i) =>
    rows.length > 0 && rows.every((r) => r[i] === "" || /^-?\d+(\.\d+)?$/.test(r[i]!))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))
      .join("  ").trimEnd() + "\n";
  return line(columns) + rows.map(line).join("") + note;
}

function jsonRow(columns: readonly string[], row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of columns) {
    const cell = row[column] ?? null;
    out[column] = cell instanceof Uint8Array
      ? hex(cell)
      : typeof cell === "bigint"
      ? Number(cell)
      : cell;
  }
  return out;
}

/** A cell as text: empty for NULL, hex for blobs. */
export function plain(cell: Cell): string {
  if (cell === null) return "";
  if (cell instanceof Uint8Array) return hex(cell);
  return String(cell);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * RFC 4180: quote fields holding a comma, quote or line break; double inner quotes. Other
 * control characters are escaped, as everywhere people read pad's output.
 */
function csvField(text: string): string {
  const shown = printable(text, true);
  return /[",\r\n]/.test(shown) ? `"${shown.replaceAll('"', '""')}"` : shown;
}

/**
 * Tabs and line breaks would split fields and rows, so they are escaped as \t, \n, \r, \\;
 * other control characters as \xNN.
 */
function tsvField(text: string): string {
  return printable(
    text.replace(
      /[\\\t\n\r]/g,
      (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!,
    ),
  );
}

/** Bytes as megabytes with one decimal, e.g. `48.1 MB`. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
