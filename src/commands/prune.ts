/**
 * `pad prune`: old rounds and packet rows removed in bounded batches, the space given back.
 * Its flags are defined in src/cli/prune.ts, which loads this module when it runs.
 *
 * @module
 */
import { plural } from "../report/format.ts";
import { logger } from "../log.ts";
import type { Output } from "../output.ts";
import { megabytes } from "../table_format.ts";
import { checkIntact, databaseFileBytes, openExistingDatabase } from "../store/database.ts";
import { isDiskFull } from "../store/failure.ts";
import { keepReserve, releaseReserve, RESERVE_BYTES } from "../store/reserve.ts";
import {
  addRemoved,
  countPacketRowsBefore,
  countRoundsBefore,
  estimateRoundsOverSize,
  reclaimSpace,
  removePacketRowsBefore,
  removeRoundsBefore,
  shrinkTo,
} from "../store/retention.ts";

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

const log = logger("prune");

/** On a full disk: rows per deleting transaction, and log pages before a checkpoint. */
const TIGHT_BATCH_ROWS = 500;
const TIGHT_LOG_PAGES = 100;

/** Deletes old rounds and packets in bounded batches, then gives the space back. */
export function runPrune(options: PruneOptions, out: Output): PruneResult {
  const bytesBefore = databaseFileBytes(options.db);
  const result: PruneResult = {
    dryRun: options.dryRun,
    rounds: 0,
    rows: {},
    agedPackets: 0,
    bytesBefore,
    bytesAfter: bytesBefore,
    fits: true,
  };
  try {
    prune(options, result, false);
  } catch (error) {
    // A disk full to the last byte: the space kept aside lets SQLite log the deletions.
    if (!isDiskFull(error, options.db) || !releaseReserve(options.db)) throw error;
    log.warn(
      "The disk holding {db} is full: pruning in small steps with the {mb} MB pad keeps aside",
      { db: options.db, mb: RESERVE_BYTES / 1_048_576 },
    );
    prune(options, result, true);
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

/**
 * Removes what the options say into `result` (which keeps what an earlier attempt removed).
 * `tight`: in small steps that keep the write-ahead log within the reserve.
 */
function prune(options: PruneOptions, result: PruneResult, tight: boolean): void {
  using db = openExistingDatabase(options.db);
  // Deleting in a damaged file can spread the damage: prune stops and says what to do.
  checkIntact(db, options.db);
  if (tight) db.exec(`PRAGMA wal_autocheckpoint = ${TIGHT_LOG_PAGES}`);
  const now = options.now ?? Date.now();
  const batch = tight ? TIGHT_BATCH_ROWS : options.batchRows ?? 5_000;
  const roundsBefore = now - options.keepMs;
  const packetsBefore = now - options.keepPacketsMs;
  if (options.dryRun) {
    addRemoved(result, countRoundsBefore(db, roundsBefore));
    result.agedPackets = countPacketRowsBefore(db, packetsBefore) - (result.rows.packets ?? 0);
    if (options.maxSizeBytes !== undefined) {
      const extra = estimateRoundsOverSize(db, options.maxSizeBytes, result.rounds);
      result.rounds += extra.rounds;
      result.fits = extra.fits;
    }
  } else {
    addRemoved(result, removeRoundsBefore(db, roundsBefore, batch));
    result.agedPackets = removePacketRowsBefore(db, packetsBefore, batch);
    if (options.maxSizeBytes !== undefined) {
      const shrunk = shrinkTo(db, options.maxSizeBytes, batch);
      addRemoved(result, shrunk.removed);
      result.fits = shrunk.fits;
    }
    reclaimSpace(db, tight ? TIGHT_LOG_PAGES : undefined);
    result.bytesAfter = databaseFileBytes(options.db);
    keepReserve(options.db);
  }
}

function describe(result: PruneResult, options: PruneOptions): string {
  // Most rows first: what the round's removal was mostly made of, whatever the schema's order.
  const rows = Object.entries(result.rows).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
    .map(([table, n]) => `${n} ${table}`).join(", ");
  const verb = result.dryRun ? "Would remove" : "Removed";
  const parts = [
    `${verb} ${plural(result.rounds, "round")}${rows ? ` (with ${rows} rows)` : ""}`,
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
