/**
 * Saving what a damaged database still holds: every row that can be read is copied into a new
 * database, table by table in the order of its row key (rowid, or round and row); where a page
 * cannot be read, the copy skips ahead to the next key that can (in growing steps), so one
 * damaged page costs the rows it held, not the rest of its table. Rows left without the round
 * (or anomaly) they belong to are dropped, and an anomaly whose incident was lost loses only the
 * link, so the new database is consistent. (SQLite's own `.recover` in the sqlite3 shell
 * 3.40 fails on pad's schema, whose `ports.value` is a generated column.)
 *
 * @module
 */
import {
  type Database,
  openDatabaseReadOnly,
  rowKey,
  tableNames,
  transaction,
} from "./database.ts";

/** Rows read per page. */
const PAGE_ROWS = 500;

/** Tables a migration renamed: the name now, and the name a database of an older schema has. */
const FORMER_NAMES: Readonly<Record<string, string>> = { port_traffic: "round_traffic" };

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
  // Every table of pad's schema, not a list kept by hand: one left off such a list was lost
  // whole, and the rows pointing to it after it.
  const known = new Set(tableNames(source));
  // Rows are copied before the rows they point to are known to exist; orphans go at the end.
  target.exec("PRAGMA foreign_keys = OFF");
  try {
    transaction(target, () => {
      for (const table of tableNames(target)) {
        const from = known.has(table) ? table : FORMER_NAMES[table];
        if (from === undefined || !known.has(from)) continue;
        recovery.tables.push({ table, ...copyTable(source, from, target, table), dropped: 0 });
      }
      dropOrphans(target, recovery);
    });
  } finally {
    target.exec("PRAGMA foreign_keys = ON");
  }
  return recovery;
}

/** Copies the readable rows of `from` into `table`; counts the reads that failed. */
function copyTable(
  source: Database,
  from: string,
  target: Database,
  table: string,
): { rows: number; unreadable: number } {
  const targetColumns = storedColumns(target, table);
  const columns = storedColumns(source, from).filter((c) => targetColumns.includes(c));
  const list = columns.map((c) => `"${c}"`).join(", ");
  const key = rowKey(source, from);
  const read = source.prepare(
    `SELECT ${key.map((k, i) => `${k} AS pad_key${i}`).join(", ")}, ${list} FROM ${from} ` +
      `WHERE (${key.join(", ")}) > (${key.map(() => "?").join(", ")}) ` +
      `ORDER BY ${key.join(", ")} LIMIT ?`,
  );
  const write = target.prepare(
    `INSERT INTO ${table} (${list}) VALUES (${columns.map(() => "?").join(", ")})`,
  );
  const lowest = () => key.map(() => Number.MIN_SAFE_INTEGER);
  let after = lowest();
  let rows = 0;
  let unreadable = 0;
  let skip = 1;
  while (after[0]! < Number.MAX_SAFE_INTEGER) {
    let page: Record<string, unknown>[];
    try {
      page = read.all(...after, PAGE_ROWS);
    } catch {
      // A damaged page: look further on, in steps that grow until a read succeeds. The steps
      // are in the key's first column: rowids, or whole rounds for the tables kept by round.
      unreadable++;
      const next = Math.min(Number.MAX_SAFE_INTEGER, Math.max(after[0]!, 0) + skip);
      after = [next, ...lowest().slice(1)];
      skip *= 2;
      continue;
    }
    skip = 1;
    for (const row of page) {
      write.run(...columns.map((c) => row[c] as never));
      after = key.map((_, i) => Number(row[`pad_key${i}`]));
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

/**
 * Settles the rows whose parent row was lost (SQLite's foreign_key_check names the table and
 * the foreign key), as deleting the parent would have: a key declared ON DELETE SET NULL (an
 * anomaly's incident) is cleared and its row kept; any other row is dropped and counted.
 */
function dropOrphans(db: Database, recovery: Recovery): void {
  for (;;) {
    const orphans = db.prepare("PRAGMA foreign_key_check").all();
    if (orphans.length === 0) return;
    const keys = new Map(orphans.map((o) => [`${o.table} ${o.fkid}`, o]));
    for (const orphan of keys.values()) {
      const table = String(orphan.table);
      const dropped = settleWithoutParent(db, table, Number(orphan.fkid));
      const entry = recovery.tables.find((t) => t.table === table);
      if (entry) {
        entry.dropped += dropped;
        entry.rows -= dropped;
      }
    }
  }
}

/**
 * Clears or deletes the rows of `table` whose foreign key number `fkid` points to no row, by
 * the key's ON DELETE action; returns how many rows were deleted.
 */
function settleWithoutParent(db: Database, table: string, fkid: number): number {
  const fk = db.prepare("SELECT * FROM pragma_foreign_key_list(?) WHERE id = ?").all(table, fkid);
  const from = fk.map((c) => `"${c.from}"`);
  // A key naming no parent column points to the parent's primary key (its rowid here).
  const to = fk.map((c) => c.to === null ? "rowid" : `"${c.to}"`);
  const orphaned = `${from.map((c) => `${c} IS NOT NULL`).join(" AND ")} AND ` +
    `(${from.join(", ")}) NOT IN (SELECT ${to.join(", ")} FROM "${fk[0]!.table}")`;
  if (fk[0]!.on_delete === "SET NULL") {
    db.prepare(`UPDATE ${table} SET ${from.map((c) => `${c} = NULL`).join(", ")} WHERE ${orphaned}`)
      .run();
    return 0;
  }
  return Number(db.prepare(`DELETE FROM ${table} WHERE ${orphaned}`).run().changes);
}
