/**
 * `pad inspect [TABLE]`: the tables with their sizes, or one table's rows as an aligned table,
 * JSON lines, CSV or TSV. Its flags are defined in src/cli/inspect.ts, which loads this module
 * when it runs.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { isoString } from "../time.ts";
import type { Output } from "../output.ts";
import {
  columnsOf,
  existingTables,
  readTable,
  roundSpan,
  tableSizes,
  TIME_COLUMNS,
} from "../store/catalog.ts";
import { checkIntact, type Database, openDatabaseReadOnly, pragma } from "../store/database.ts";
import {
  type Cell,
  megabytes,
  plain,
  type Row,
  type RowFormat,
  rowWriter,
} from "../table_format.ts";

/** Options of `pad inspect [TABLE]`. */
export interface InspectOptions {
  db: string;
  /** Without a table: the overview of tables, size and time span. */
  table?: string;
  /** Default: `table` on a terminal, `tsv` otherwise. */
  format?: RowFormat;
  /** Rows at most, newest first; 0 for all. */
  limit: number;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  /** Milliseconds since the epoch, exclusive. */
  until?: number;
  round?: number;
  /** `COLUMN=VALUE` filters, all of which must hold. */
  where: string[];
  /** These columns, in this order. */
  columns?: string[];
  /** Every column in the table format, however wide. */
  allColumns?: boolean;
}

/** Dumps a table, or without one lists the tables; opens the database read-only. */
export function runInspect(options: InspectOptions, out: Output): void {
  using db = openDatabaseReadOnly(options.db);
  const format = options.format ?? (out.isTerminal ? "table" : "tsv");
  if (options.table === undefined) overview(db, options.db, format, out);
  else dumpTable(db, options.table, options, format, out);
}

function dumpTable(
  db: Database,
  tableName: string,
  options: InspectOptions,
  format: RowFormat,
  out: Output,
): void {
  const tables = existingTables(db);
  const table = tables.find((t) => t.name === tableName);
  if (!table) {
    throw new UsageError(
      `Unknown table "${tableName}": use one of ${tables.map((t) => t.name).join(", ")}`,
    );
  }
  if (options.round !== undefined && !table.roundColumn) {
    throw new UsageError(`--round does not apply to table "${table.name}": it has no round`);
  }
  const columns = columnsOf(db, table);
  const equal = options.where.map((filter): [string, string] => {
    const eq = filter.indexOf("=");
    const column = eq > 0 ? filter.slice(0, eq) : "";
    if (!columns.includes(column)) {
      throw new UsageError(
        `Invalid --where "${filter}": use COLUMN=VALUE with a column of ${table.name}: ${
          columns.join(", ")
        }`,
      );
    }
    return [column, filter.slice(eq + 1)];
  });
  const read = readTable(db, table, { ...options, equal });
  const unknown = (options.columns ?? []).filter((c) => !read.columns.includes(c));
  if (unknown.length > 0) {
    throw new UsageError(
      `Invalid --columns: ${table.name} has no ${unknown.join(", ")}; its columns: ${
        read.columns.join(", ")
      }`,
    );
  }
  // People get the main columns, fitted to the terminal; scripts get every column.
  const chosen = options.columns ??
    (format === "table" && !options.allColumns
      ? table.shown.filter((c) => read.columns.includes(c))
      : read.columns);
  const fit = format === "table" && !options.allColumns && options.columns === undefined;
  const writer = rowWriter(
    format,
    chosen,
    (text) => out.write(text),
    displayCell,
    fit ? out.columns : undefined,
  );
  for (const row of read.rows) writer.row(row as Row);
  writer.end();
}

function overview(db: Database, path: string, format: RowFormat, out: Output): void {
  checkIntact(db, path);
  const tables = tableSizes(db);
  const span = roundSpan(db);
  const summary = {
    path,
    schema_version: pragma(db, "user_version"),
    size_bytes: fileSize(path),
    wal_bytes: fileSize(`${path}-wal`),
    first_round: span.first,
    last_round: span.last,
    tables,
  };
  if (format === "json") {
    out.write(JSON.stringify(summary) + "\n");
    return;
  }
  const writer = rowWriter(format, ["table", "rows"], (text) => out.write(text));
  if (format === "table") {
    const time = (ms: number | null) => ms === null ? "none" : isoString(ms);
    out.write(
      `database  ${path}\n` +
        `schema    version ${summary.schema_version}\n` +
        `size      ${megabytes(summary.size_bytes)} (write-ahead log ${
          megabytes(summary.wal_bytes)
        })\n` +
        `rounds    ${time(summary.first_round)} to ${time(summary.last_round)}\n\n`,
    );
  }
  for (const t of tables) writer.row(t);
  writer.end();
}

/**
 * Times become ISO 8601 for people, fractions four significant digits; other cells are shown
 * as stored, long text shortened.
 */
function displayCell(column: string, cell: Cell): string {
  if (TIME_COLUMNS.has(column) && typeof cell === "number") return isoString(cell);
  if (typeof cell === "number" && !Number.isInteger(cell)) {
    return String(Number(cell.toPrecision(4)));
  }
  const text = plain(cell).replace(/[\t\r\n]/g, " ");
  return text.length > 64 ? text.slice(0, 63) + "…" : text;
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}
