import type { Database } from "./database.ts";

/** A table `pad inspect` may read; names come from this fixed list, never from input. */
export interface TableInfo {
  name: string;
  /** The SQL `--since`/`--until` filter on: a time column, or the round's start. */
  time: string;
  /** The column `--round` filters on. */
  roundColumn: string | null;
  /** Bulky blob columns shown as their size (`COLUMN_bytes`) instead of their content. */
  sizeOnly?: string[];
}

/** Every table a person may inspect, in the order `pad inspect` lists them. */
export const TABLES: readonly TableInfo[] = [
  { name: "rounds", time: "start_time", roundColumn: "id" },
  { name: "ports", time: "first_seen", roundColumn: null },
  { name: "rounds_ports", time: "last_seen", roundColumn: "round_id" },
  { name: "packets", time: "timestamp", roundColumn: "round_id" },
  {
    name: "round_traffic",
    time: "(SELECT start_time FROM rounds WHERE rounds.id = round_traffic.round_id)",
    roundColumn: "round_id",
  },
  { name: "round_scores", time: "scored_at", roundColumn: "round_id" },
  { name: "anomalies", time: "detected_at", roundColumn: "round_id" },
  {
    name: "anomaly_ports",
    time: "(SELECT detected_at FROM anomalies WHERE anomalies.id = anomaly_ports.anomaly_id)",
    roundColumn: null,
  },
  { name: "models", time: "created", roundColumn: null, sizeOnly: ["weights"] },
];

/** Columns that hold milliseconds since the epoch, shown as ISO 8601 to people. */
export const TIME_COLUMNS: ReadonlySet<string> = new Set([
  "start_time",
  "end_time",
  "first_seen",
  "last_seen",
  "timestamp",
  "created",
  "scored_at",
  "detected_at",
]);

/** The known tables this database has (an older schema may lack some). */
export function existingTables(db: Database): TableInfo[] {
  const names = new Set(
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) =>
      String(r.name)
    ),
  );
  return TABLES.filter((t) => names.has(t.name));
}

/** Column names of a table from {@linkcode TABLES}, in schema order. */
export function columnsOf(db: Database, table: TableInfo): string[] {
  return db.prepare(`SELECT name FROM pragma_table_xinfo(?)`).all(table.name).map((r) =>
    String(r.name)
  );
}

/** What inspect selects for a column: itself, or for a size-only blob `length(c) AS c_bytes`. */
export function selectColumn(table: TableInfo, column: string): { sql: string; name: string } {
  return table.sizeOnly?.includes(column)
    ? { sql: `length("${column}") AS "${column}_bytes"`, name: `${column}_bytes` }
    : { sql: `"${column}"`, name: column };
}

/** Tables whose rows belong to a round (a foreign key to rounds), with that column. */
export function roundChildTables(db: Database): { table: string; column: string }[] {
  const tables = db.prepare(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
  ).all().map((r) => String(r.name));
  const children: { table: string; column: string }[] = [];
  for (const table of tables) {
    for (const fk of db.prepare("SELECT * FROM pragma_foreign_key_list(?)").all(table)) {
      if (fk.table === "rounds") children.push({ table, column: String(fk.from) });
    }
  }
  return children;
}
