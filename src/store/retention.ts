/**
 * Retention: removing old rounds (with every row that belongs to them) and old packet rows, in
 * short batched transactions so a collector never waits long for the write lock, and giving
 * the space back. Open rounds are never touched.
 *
 * @module
 */
import { LATEST_TIME } from "../round.ts";
import { type Database, pragma, rowKey, tableNames, transaction } from "./database.ts";

/** Rounds removed, and the rows removed with them per table. */
export interface Removed {
  rounds: number;
  rows: Record<string, number>;
}

/** An SQL condition on `rounds` with its parameters. Open rounds are never matched. */
interface RoundSelection {
  where: string;
  params: number[];
}

/**
 * Closed rounds that started before `time` (imported ones: that were imported before it), and
 * those stamped where no round can be (stored by an older pad from a damaged capture; they
 * would otherwise never be old enough to go).
 */
function startedBefore(time: number): RoundSelection {
  return {
    where: "status <> 'open' AND (coalesce(imported_at, start_time) < ? OR start_time > ?)",
    params: [time, LATEST_TIME],
  };
}

/** What {@linkcode removeRoundsBefore} would remove, counted; changes nothing. */
export function countRoundsBefore(db: Database, time: number): Removed {
  const selection = startedBefore(time);
  return { rounds: countRounds(db, selection), rows: countChildRows(db, selection) };
}

/** Packet rows of closed rounds that started before `time`; changes nothing. */
export function countPacketRowsBefore(db: Database, time: number): number {
  const selection = startedBefore(time);
  return Number(
    db.prepare(
      `SELECT count(*) AS n FROM packets WHERE round_id IN (SELECT id FROM rounds WHERE ${selection.where})`,
    ).get(...selection.params)!.n,
  );
}

/** Removes closed rounds that started before `time`, with their rows, `batch` rows at a time. */
export function removeRoundsBefore(db: Database, time: number, batch: number): Removed {
  return removeRounds(db, startedBefore(time), batch);
}

/** Removes the packet rows of closed rounds that started before `time`; the rounds stay. */
export function removePacketRowsBefore(db: Database, time: number, batch: number): number {
  const selection = startedBefore(time);
  return deleteInBatches(
    db,
    "DELETE FROM packets WHERE rowid IN (SELECT rowid FROM packets WHERE round_id IN " +
      `(SELECT id FROM rounds WHERE ${selection.where}) LIMIT ?)`,
    selection.params,
    batch,
  );
}

/**
 * Removes the oldest closed rounds until the pages in use fit `limit` bytes; `fits` is false
 * when they cannot (only open rounds, or the empty schema, remain).
 */
export function shrinkTo(
  db: Database,
  limit: number,
  batch: number,
): { removed: Removed; fits: boolean } {
  const removed: Removed = { rounds: 0, rows: {} };
  for (;;) {
    const used = usedBytes(db);
    if (used <= limit) return { removed, fits: true };
    const closed = countRounds(db, { where: "status <> 'open'", params: [] });
    if (closed === 0) return { removed, fits: false };
    // Remove about as many rounds as the excess holds on average, at least one, then measure.
    const perRound = used /
      Math.max(1, Number(db.prepare("SELECT count(*) AS n FROM rounds").get()!.n));
    const count = Math.min(closed, Math.max(1, Math.ceil((used - limit) / perRound)));
    const newest = db.prepare(
      "SELECT start_time FROM rounds WHERE status <> 'open' ORDER BY start_time LIMIT 1 OFFSET ?",
    ).get(count - 1)!.start_time as number;
    addRemoved(
      removed,
      removeRounds(db, { where: "status <> 'open' AND start_time <= ?", params: [newest] }, batch),
    );
  }
}

/**
 * How many more rounds {@linkcode shrinkTo} would remove once `alreadyCounted` rounds are gone,
 * estimated from the average size of a round; changes nothing.
 */
export function estimateRoundsOverSize(
  db: Database,
  limit: number,
  alreadyCounted: number,
): { rounds: number; fits: boolean } {
  const total = Number(db.prepare("SELECT count(*) AS n FROM rounds").get()!.n);
  const closed = countRounds(db, { where: "status <> 'open'", params: [] });
  const used = usedBytes(db);
  const perRound = used / Math.max(1, total);
  const remaining = used - perRound * alreadyCounted;
  if (remaining <= limit) return { rounds: 0, fits: true };
  const needed = Math.ceil((remaining - limit) / perRound);
  const available = closed - alreadyCounted;
  return { rounds: Math.min(needed, available), fits: needed <= available };
}

/**
 * Frees unused pages `pagesPerStep` at a time (each step one transaction), then folds the
 * write-ahead log back in.
 */
export function reclaimSpace(db: Database, pagesPerStep = 4000): void {
  while (pragma(db, "freelist_count") > 0) {
    transaction(db, () => db.exec(`PRAGMA incremental_vacuum(${pagesPerStep})`));
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

/** Adds what `more` removed to `total`. */
export function addRemoved(total: Removed, more: Removed): void {
  total.rounds += more.rounds;
  for (const [table, n] of Object.entries(more.rows)) {
    total.rows[table] = (total.rows[table] ?? 0) + n;
  }
}

/** Deletes the selected rounds: their child rows first, batch by batch, then the rounds. */
function removeRounds(db: Database, selection: RoundSelection, batch: number): Removed {
  const rows: Record<string, number> = {};
  for (const { table, column } of roundChildTables(db)) {
    const key = rowKey(db, table).join(", ");
    rows[table] = deleteInBatches(
      db,
      `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${column} IN ` +
        `(SELECT id FROM rounds WHERE ${selection.where}) LIMIT ?)`,
      selection.params,
      batch,
    );
  }
  // Foreign keys cascade, so rows of a round that matched only now still go with it.
  const rounds = deleteInBatches(
    db,
    `DELETE FROM rounds WHERE id IN (SELECT id FROM rounds WHERE ${selection.where} LIMIT ?)`,
    selection.params,
    batch,
  );
  return { rounds, rows };
}

/** Runs a `DELETE … LIMIT ?` statement one short transaction at a time until it deletes no more. */
function deleteInBatches(db: Database, sql: string, params: number[], batch: number): number {
  const statement = db.prepare(sql);
  let total = 0;
  for (;;) {
    const deleted = transaction(db, () => Number(statement.run(...params, batch).changes));
    total += deleted;
    if (deleted < batch) return total;
  }
}

function countRounds(db: Database, selection: RoundSelection): number {
  return Number(
    db.prepare(`SELECT count(*) AS n FROM rounds WHERE ${selection.where}`).get(
      ...selection.params,
    )!.n,
  );
}

function countChildRows(db: Database, selection: RoundSelection): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const { table, column } of roundChildTables(db)) {
    rows[table] = Number(
      db.prepare(
        `SELECT count(*) AS n FROM ${table} WHERE ${column} IN ` +
          `(SELECT id FROM rounds WHERE ${selection.where})`,
      ).get(...selection.params)!.n,
    );
  }
  return rows;
}

/** Tables whose rows belong to a round (a foreign key to rounds), with that column. */
function roundChildTables(db: Database): { table: string; column: string }[] {
  const children: { table: string; column: string }[] = [];
  for (const table of tableNames(db)) {
    for (const fk of db.prepare("SELECT * FROM pragma_foreign_key_list(?)").all(table)) {
      if (fk.table === "rounds") children.push({ table, column: String(fk.from) });
    }
  }
  return children;
}

/** Bytes of pages holding data: what the file shrinks to once free pages are given back. */
function usedBytes(db: Database): number {
  return (pragma(db, "page_count") - pragma(db, "freelist_count")) * pragma(db, "page_size");
}
