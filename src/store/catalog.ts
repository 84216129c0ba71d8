/**
 * The tables a person may read with `pad inspect`, and the reads themselves.
 *
 * @module
 */
import { type Database, rowKey } from "./database.ts";

/** A table `pad inspect` may read; names come from this fixed list, never from input. */
export interface TableInfo {
  name: string;
  /** The SQL `--since`/`--until` filter on: a time column, or the round's start. */
  time: string;
  /** The column `--round` filters on. */
  roundColumn: string | null;
  /** Bulky blob columns shown as their size (`COLUMN_bytes`) instead of their content. */
  sizeOnly?: string[];
  /** Columns computed from other tables, after the table's own (e.g. an anomaly's round time). */
  computed?: { name: string; sql: string }[];
  /** The columns a person sees in the aligned table by default (others: --all-columns). */
  shown: string[];
  /** A view's row key (a table's comes from its schema). */
  key?: string[];
}

/** The start of the row's round, for tables that name a round by its id. */
function roundTime(table: string): { name: string; sql: string } {
  return {
    name: "round_time",
    sql: `(SELECT start_time FROM rounds WHERE rounds.id = ${table}.round_id)`,
  };
}

/** Every table a person may inspect, in the order `pad inspect` lists them. */
export const TABLES: readonly TableInfo[] = [
  {
    name: "rounds",
    time: "start_time",
    roundColumn: "id",
    shown: [
      "id",
      "start_time",
      "end_time",
      "status",
      "source",
      "probe",
      "sweeps",
      "capture_off",
      "packets_seen",
      "packets_stored",
      "pcap_dropped",
    ],
  },
  {
    name: "ports",
    time: "first_seen",
    roundColumn: null,
    shown: ["id", "first_seen", "tcp_listener_first_seen", "udp_listener_first_seen"],
  },
  {
    name: "rounds_ports",
    time: "last_seen",
    roundColumn: "round_id",
    shown: [
      "round_id",
      "port_id",
      "protocol",
      "family",
      "sweeps_seen",
      "socket_state",
      "pid",
      "command",
    ],
  },
  {
    name: "packets",
    time: "timestamp",
    roundColumn: "round_id",
    shown: [
      "round_id",
      "timestamp",
      "direction",
      "port_id",
      "remote_addr",
      "remote_port",
      "length",
      "protocols",
      "qry_name",
    ],
  },
  {
    name: "flows",
    time: "first_seen",
    roundColumn: "round_id",
    shown: [
      "round_id",
      "first_seen",
      "direction",
      "protocol",
      "port_id",
      "remote_addr",
      "remote_port",
      "command",
      "packets_in",
      "packets_out",
      "bytes_in",
      "bytes_out",
      "state",
      "dns_query",
    ],
  },
  {
    name: "round_traffic",
    time: "(SELECT start_time FROM rounds WHERE rounds.id = round_traffic.round_id)",
    roundColumn: "round_id",
    key: ["round_id", "id"],
    shown: [
      "round_id",
      "port_id",
      "protocol",
      "direction",
      "packets",
      "bytes",
      "peers",
      "remote_ports",
      "accepts",
    ],
  },
  {
    name: "round_connections",
    time: "(SELECT start_time FROM rounds WHERE rounds.id = round_connections.round_id)",
    roundColumn: "round_id",
    shown: [
      "round_id",
      "ports_per_peer_in",
      "peer_in",
      "ports_per_peer_out",
      "peer_out",
      "peers_in",
      "peers_out",
      "unanswered_out",
    ],
  },
  {
    name: "round_scores",
    time: "scored_at",
    roundColumn: "round_id",
    computed: [roundTime("round_scores")],
    shown: ["round_id", "round_time", "model_id", "score", "threshold", "verdict", "learned"],
  },
  {
    name: "anomalies",
    time: "detected_at",
    roundColumn: "round_id",
    computed: [roundTime("anomalies")],
    shown: ["id", "round_id", "round_time", "score", "threshold", "reason", "incident_id"],
  },
  {
    name: "anomaly_ports",
    time: "(SELECT detected_at FROM anomalies WHERE anomalies.id = anomaly_ports.anomaly_id)",
    roundColumn: null,
    shown: ["anomaly_id", "port_id", "protocol", "error", "pid", "command"],
  },
  {
    name: "incidents",
    time: "start_time",
    roundColumn: null,
    shown: ["id", "status", "kind", "start_time", "end_time", "rounds", "summary"],
  },
  {
    name: "incident_deliveries",
    time: "created",
    roundColumn: null,
    shown: ["incident_id", "event", "target", "created", "delivered", "attempts", "error"],
  },
  {
    name: "imports",
    time: "imported_at",
    roundColumn: null,
    shown: ["id", "imported_at", "rounds", "bytes", "file"],
  },
  {
    name: "models",
    time: "created",
    roundColumn: null,
    sizeOnly: ["weights"],
    shown: [
      "id",
      "created",
      "rounds_trained",
      "trained_until",
      "threshold",
      "encoding",
      "weights_bytes",
    ],
  },
];

/** Columns that hold milliseconds since the epoch, shown as ISO 8601 to people. */
export const TIME_COLUMNS: ReadonlySet<string> = new Set([
  "start_time",
  "end_time",
  "first_seen",
  "last_seen",
  "tcp_listener_first_seen",
  "udp_listener_first_seen",
  "timestamp",
  "created",
  "scored_at",
  "detected_at",
  "round_time",
  "trained_until",
  "opened_at",
  "closed_at",
  "acknowledged_at",
  "accepted_at",
  "delivered",
  "imported_at",
]);

/** The known tables (and views) this database has (an older schema may lack some). */
export function existingTables(db: Database): TableInfo[] {
  const names = new Set(
    db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')").all().map((r) =>
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
function selectColumn(table: TableInfo, column: string): { sql: string; name: string } {
  return table.sizeOnly?.includes(column)
    ? { sql: `length("${column}") AS "${column}_bytes"`, name: `${column}_bytes` }
    : { sql: `"${column}"`, name: column };
}

/** Which rows of a table to read. */
export interface TableFilter {
  /** On the table's time (ms since the epoch): `since` inclusive, `until` exclusive. */
  since?: number;
  until?: number;
  /** Rows of this round; the table must have a round column. */
  round?: number;
  /** `[column, value]` pairs that must all hold; columns checked against the schema. */
  equal?: readonly [string, string][];
  /** Rows at most, newest first; 0 for all. */
  limit: number;
}

/**
 * The rows of `table` that pass `filter`, newest first, as their columns (size-only blobs as
 * `COLUMN_bytes`) and an iterator. Throws `RangeError` for a column or filter the table lacks.
 */
export function readTable(
  db: Database,
  table: TableInfo,
  filter: TableFilter,
): { columns: string[]; rows: Iterable<Record<string, unknown>> } {
  const columns = columnsOf(db, table);
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.since !== undefined) {
    clauses.push(`${table.time} >= ?`);
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    clauses.push(`${table.time} < ?`);
    params.push(filter.until);
  }
  if (filter.round !== undefined) {
    if (!table.roundColumn) throw new RangeError(`Table "${table.name}" has no round`);
    clauses.push(`${table.roundColumn} = ?`);
    params.push(filter.round);
  }
  for (const [column, value] of filter.equal ?? []) {
    if (!columns.includes(column)) {
      throw new RangeError(`Table "${table.name}" has no column "${column}"`);
    }
    // Column names were just checked against the schema; values are bound parameters.
    clauses.push(`"${column}" = ?`);
    params.push(value);
  }
  // Newest first: in the order of the row key (rowid, or round and row), backwards.
  const key = table.key ?? rowKey(db, table.name);
  clauses.push(`(${key.join(", ")}) < (${key.map(() => "?").join(", ")})`);
  const selected = [
    ...columns.map((c) => selectColumn(table, c)),
    ...(table.computed ?? []).map((c) => ({ sql: `${c.sql} AS "${c.name}"`, name: c.name })),
  ];
  const statement = db.prepare(
    `SELECT ${key.map((k, i) => `${k} AS ${KEY}${i}`).join(", ")}, ` +
      `${selected.map((c) => c.sql).join(", ")} FROM ${table.name} ` +
      `WHERE ${clauses.join(" AND ")} ORDER BY ${key.map((k) => `${k} DESC`).join(", ")} LIMIT ?`,
  );
  return {
    columns: selected.map((c) => c.name),
    rows: pages(statement, params, key.length, filter.limit),
  };
}

/** Rows read per page of {@linkcode readTable}. */
const PAGE_ROWS = 1_000;
/** Prefix of the row key's columns in a page's rows. */
const KEY = "pad_key";

/**
 * The rows of `statement` (ending `(key) < (?…) … LIMIT ?`, `keyColumns` of them), newest first,
 * a page at a time. Not `iterate()`: node:sqlite's iterator ends quietly where the file is
 * damaged, while `all()` throws, so a damaged database fails instead of looking shorter.
 */
function* pages(
  statement: ReturnType<Database["prepare"]>,
  params: (string | number)[],
  keyColumns: number,
  limit: number,
): Generator<Record<string, unknown>> {
  let before: number[] = Array(keyColumns).fill(Number.MAX_SAFE_INTEGER);
  let left = limit > 0 ? limit : Infinity;
  while (left > 0) {
    const size = Math.min(PAGE_ROWS, left);
    const rows = statement.all(...params, ...before, size);
    for (const row of rows) {
      before = before.map((_, i) => Number(row[`${KEY}${i}`]));
      for (let i = 0; i < keyColumns; i++) delete row[`${KEY}${i}`];
      yield row;
    }
    if (rows.length < size) return;
    left -= rows.length;
  }
}

/** Rows per known table, in {@linkcode TABLES} order. */
export function tableSizes(db: Database): { table: string; rows: number }[] {
  return existingTables(db).map((t) => ({
    table: t.name,
    rows: Number(db.prepare(`SELECT count(*) AS n FROM ${t.name}`).get()!.n),
  }));
}

/** Start of the first and of the last round; nulls without rounds. */
export function roundSpan(db: Database): { first: number | null; last: number | null } {
  const span = db.prepare("SELECT min(start_time) AS first, max(start_time) AS last FROM rounds")
    .get()!;
  return { first: span.first as number | null, last: span.last as number | null };
}
