/**
 * Saving what a damaged database still holds: every row that can be read is copied into a new
 * database, table by table in rowid order; where a page cannot be read, the copy skips ahead
 * to the next rowid that can (in growing steps), so one damaged page costs the rows it held,
 * not the rest of its table. Rows left without the round (or anomaly) they belong to are
 * dropped, so the new database is consistent. (SQLite's own `.recover` in the sqlite3 shell
 * 3.40 fails on pad's schema, whose `ports.value` is a generated column.)
 *
 * @module
 */
import { type Database, openDatabaseReadOnly, transaction } from "./database.ts";

/** Tables in the order their rows are copied: parents before the rows that point to them. */
const TABLES = [
  "rounds",
  "ports",
  "models",
  "rounds_ports",
  "packets",
  "round_traffic",
  "round_scores",
  "anomalies",
  "anomaly_ports",
];

/** Rows read per page. */
const PAGE_ROWS = 500;

/** What a recovery copied, per table, and what it had to leave. */
export interface Recovery {
  tables: { table: string; rows: number; unreadable: number; dropped: number }[];
}

/**
 * Copies the readable rows of the database at `damagedPath` into `target` (a new database,
 * migrated and empty), in one transaction.
 */
export function recoverInto(target: Database, damagedPath: string): Recovery {
  using source = openDatabaseReadOnly(damagedPath);
  const recovery: Recovery = { tables: [] };
  const known = new Set(
    source.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) =>
      String(r.name)
    ),
  );
  // Rows are copied before the rows they point to are known to exist; orphans go at the end.
  target.exec("PRAGMA foreign_keys = OFF");
  try {
    transaction(target, () => {
      for (const table of TABLES) {
        if (!known.has(table)) continue;
        recovery.tables.push({ table, ...copyTable(source, target, table), dropped: 0 });
      }
      dropOrphans(target, recovery);
    });
  } finally {
    target.exec("PRAGMA foreign_keys = ON");
  }
  return recovery;
}

/** Copies one table's readable rows; counts the reads that failed. */
function copyTable(
  source: Database,
  target: Database,
  table: string,
): { rows: number; unreadable: number } {
  const columns = storedColumns(source, table).filter((c) =>
    storedColumns(target, table).includes(c)
  );
  const list = columns.map((c) => `"${c}"`).join(", ");
  const read = source.prepare(
    `SELECT rowid AS pad_rowid, ${list} FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  const write = target.prepare(
    `INSERT INTO ${table} (${list}) VALUES (${columns.map(() => "?").join(", ")})`,
  );
  let after = Number.MIN_SAFE_INTEGER;
  let rows = 0;
  let unreadable = 0;
  let skip = 1;
  while (after < Number.MAX_SAFE_INTEGER) {
    let page: Record<string, unknown>[];
    try {
      page = read.all(after, PAGE_ROWS);
    } catch {
      // A damaged page: look further on, in steps that grow until a read succeeds.
      unreadable++;
      after = Math.min(Number.MAX_SAFE_INTEGER, Math.max(after, 0) + skip);
      skip *= 2;
      continue;
    }
    skip = 1;
    for (const row of page) {
      write.run(...columns.map((c) => row[c] as never));
      after = Number(row.pad_rowid);
      rows++;
    }
    if (page.length < PAGE_ROWS) break;
  }
  return { rows, unreadable };
}

/** Columns a row stores (not generated ones, which SQLite computes). */
function storedColumns(db: Database, table: string): string[] {
  return db.prepare("SELECT name, hidden FROM pragma_table_xinfo(?)").all(table)
    .filter((c) => Number(c.hidden) === 0).map((c) => String(c.name));
}

/** Deletes rows whose parent row was lost (SQLite's foreign_key_check), counting them. */
function dropOrphans(db: Database, recovery: Recovery): void {
  for (;;) {
    const orphans = db.prepare("PRAGMA foreign_key_check").all();
    if (orphans.length === 0) return;
    for (const orphan of orphans) {
      const table = String(orphan.table);
      db.prepare(`DELETE FROM ${table} WHERE rowid = ?`).run(Number(orphan.rowid));
      const entry = recovery.tables.find((t) => t.table === table);
      if (entry) {
        entry.dropped++;
        entry.rows--;
      }
    }
  }
}
