import { logger } from "../log.ts";
import type { Output } from "../output.ts";
import { megabytes } from "../table_format.ts";
import { roundChildTables } from "../store/catalog.ts";
import {
  type Database,
  databaseFileBytes,
  openDatabase,
  pragma,
  transaction,
} from "../store/database.ts";

/** Options of `pad prune`. */
export interface PruneOptions {
  db: string;
  /** Rounds that started longer ago than this (ms) go, with all their rows. */
  keepMs: number;
  /** Packet rows of rounds older than this (ms) go; the rounds and their counts stay. */
  keepPacketsMs: number;
  /** Then the oldest rounds go until the database fits in this many bytes. */
  maxSizeBytes?: number;
  /** Report what would go; change nothing. */
  dryRun: boolean;
  /** Rows deleted per transaction, so a collector never waits long for the write lock. */
  batchRows?: number;
  now?: number;
}

/** What `pad prune` removed (or, with `dryRun`, would remove). */
export interface PruneResult {
  dryRun: boolean;
  /** Rounds removed, by age and then by size. */
  rounds: number;
  /** Rows removed with those rounds, per table. */
  rows: Record<string, number>;
  /** Packet rows removed from rounds that stay. */
  agedPackets: number;
  bytesBefore: number;
  bytesAfter: number;
  /** False when `maxSizeBytes` could not be met (only open rounds, or the empty schema, remain). */
  fits: boolean;
}

/** An SQL condition on `rounds` with its parameters. Open rounds are never matched. */
interface RoundSelection {
  where: string;
  params: number[];
}

const log = logger("prune");

/** Deletes old rounds and packets in bounded batches, then gives the space back. */
export function runPrune(options: PruneOptions, out: Output): PruneResult {
  using db = openDatabase(options.db);
  const now = options.now ?? Date.now();
  const batch = options.batchRows ?? 5_000;
  const bytesBefore = databaseFileBytes(options.db);
  const byAge: RoundSelection = {
    where: "status <> 'open' AND start_time < ?",
    params: [now - options.keepMs],
  };
  const packetsByAge: RoundSelection = {
    where: "status <> 'open' AND start_time < ?",
    params: [now - options.keepPacketsMs],
  };
  const result: PruneResult = {
    dryRun: options.dryRun,
    rounds: 0,
    rows: {},
    agedPackets: 0,
    bytesBefore,
    bytesAfter: bytesBefore,
    fits: true,
  };

  if (options.dryRun) {
    result.rounds = countRounds(db, byAge);
    result.rows = countChildRows(db, byAge);
    result.agedPackets = countPackets(db, packetsByAge) - (result.rows.packets ?? 0);
    if (options.maxSizeBytes !== undefined) {
      const extra = estimateRoundsOverSize(db, options.maxSizeBytes, result.rounds);
      result.rounds += extra.rounds;
      result.fits = extra.fits;
    }
  } else {
    addRemoved(result, removeRounds(db, byAge, batch));
    result.agedPackets = removePackets(db, packetsByAge, batch);
    if (options.maxSizeBytes !== undefined) {
      result.fits = shrinkTo(db, options.maxSizeBytes, batch, result);
    }
    reclaimSpace(db);
    result.bytesAfter = databaseFileBytes(options.db);
  }
  out.write(describe(result, options) + "\n");
  if (!result.fits) {
    log.warn(
      "The database cannot be brought under {limit}: what remains is open rounds and the schema",
      { limit: megabytes(options.maxSizeBytes!) },
    );
  }
  return result;
}

/** Deletes the selected rounds: their child rows first, batch by batch, then the rounds. */
function removeRounds(
  db: Database,
  selection: RoundSelection,
  batch: number,
): { rounds: number; rows: Record<string, number> } {
  const rows: Record<string, number> = {};
  for (const { table, column } of roundChildTables(db)) {
    rows[table] = deleteInBatches(
      db,
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} IN ` +
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

function removePackets(db: Database, selection: RoundSelection, batch: number): number {
  return deleteInBatches(
    db,
    "DELETE FROM packets WHERE rowid IN (SELECT rowid FROM packets WHERE round_id IN " +
      `(SELECT id FROM rounds WHERE ${selection.where}) LIMIT ?)`,
    selection.params,
    batch,
  );
}

/** Removes the oldest rounds until the pages in use fit `limit`; false if they cannot. */
function shrinkTo(db: Database, limit: number, batch: number, result: PruneResult): boolean {
  for (;;) {
    const used = usedBytes(db);
    if (used <= limit) return true;
    const closed = countRounds(db, { where: "status <> 'open'", params: [] });
    if (closed === 0) return false;
    // Remove about as many rounds as the excess holds on average, at least one, then measure.
    const perRound = used /
      Math.max(1, Number(db.prepare("SELECT count(*) AS n FROM rounds").get()!.n));
    const count = Math.min(closed, Math.max(1, Math.ceil((used - limit) / perRound)));
    const newest = db.prepare(
      "SELECT start_time FROM rounds WHERE status <> 'open' ORDER BY start_time LIMIT 1 OFFSET ?",
    ).get(count - 1)!.start_time as number;
    addRemoved(
      result,
      removeRounds(db, { where: "status <> 'open' AND start_time <= ?", params: [newest] }, batch),
    );
  }
}

function estimateRoundsOverSize(
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

/** Frees unused pages a few thousand at a time, then folds the write-ahead log back in. */
function reclaimSpace(db: Database): void {
  while (pragma(db, "freelist_count") > 0) {
    transaction(db, () => db.exec("PRAGMA incremental_vacuum(4000)"));
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
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

function countPackets(db: Database, selection: RoundSelection): number {
  return Number(
    db.prepare(
      `SELECT count(*) AS n FROM packets WHERE round_id IN (SELECT id FROM rounds WHERE ${selection.where})`,
    ).get(...selection.params)!.n,
  );
}

function addRemoved(
  result: PruneResult,
  removed: { rounds: number; rows: Record<string, number> },
) {
  result.rounds += removed.rounds;
  for (const [table, n] of Object.entries(removed.rows)) {
    result.rows[table] = (result.rows[table] ?? 0) + n;
  }
}

/** Bytes of pages holding data: what the file shrinks to once free pages are given back. */
function usedBytes(db: Database): number {
  return (pragma(db, "page_count") - pragma(db, "freelist_count")) * pragma(db, "page_size");
}

function describe(result: PruneResult, options: PruneOptions): string {
  const rows = Object.entries(result.rows).filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} ${table}`).join(", ");
  const verb = result.dryRun ? "Would remove" : "Removed";
  const parts = [
    `${verb} ${result.rounds} rounds${rows ? ` (with ${rows} rows)` : ""}`,
    `${result.agedPackets} packet rows of rounds kept`,
  ];
  const size = result.dryRun
    ? `database ${megabytes(result.bytesBefore)}`
    : `database ${megabytes(result.bytesBefore)} -> ${megabytes(result.bytesAfter)}`;
  const limit = options.maxSizeBytes === undefined
    ? ""
    : ` (limit ${megabytes(options.maxSizeBytes)})`;
  return `${parts.join(" and ")}; ${size}${limit}`;
}
