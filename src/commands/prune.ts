import { Command } from "@commander-js/extra-typings";
import { type CommandContext, examples, flag } from "../cli.ts";
import { ExitCode } from "../errors.ts";
import { logger } from "../log.ts";
import { parseDuration, parseMegabytes } from "../parse.ts";
import type { Output } from "../output.ts";
import { megabytes } from "../table_format.ts";
import { databaseFileBytes, openDatabase } from "../store/database.ts";
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

/** `pad prune`: its flags, help and action. */
export function pruneCommand(context: CommandContext) {
  return new Command("prune")
    .description("remove old rounds and packets; give the space back")
    .option(
      "--keep <duration>",
      "keep rounds younger than this",
      flag(parseDuration, "--keep"),
      7 * 86_400_000,
    )
    .option(
      "--keep-packets <duration>",
      "keep packet rows younger than this (rounds and their counts stay)",
      flag(parseDuration, "--keep-packets"),
      86_400_000,
    )
    .option(
      "--max-size <MB>",
      "then remove the oldest rounds until the file fits",
      flag(parseMegabytes, "--max-size"),
    )
    .option("--dry-run", "report what would be removed; change nothing", false)
    .addHelpText(
      "after",
      examples([
        ["pad prune", "a week of rounds and a day of packet rows stay, as cron runs it daily"],
        ["pad prune --max-size 500 --dry-run", "what keeping the file under 500 MB would take"],
      ]),
    )
    .action((opts) => {
      const result = runPrune({
        db: context.db(),
        keepMs: opts.keep,
        keepPacketsMs: opts.keepPackets,
        maxSizeBytes: opts.maxSize,
        dryRun: opts.dryRun,
      }, context.summary());
      if (!result.fits) context.setStatus(ExitCode.Failure);
    });
}

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

/** Deletes old rounds and packets in bounded batches, then gives the space back. */
export function runPrune(options: PruneOptions, out: Output): PruneResult {
  using db = openDatabase(options.db);
  const now = options.now ?? Date.now();
  const batch = options.batchRows ?? 5_000;
  const bytesBefore = databaseFileBytes(options.db);
  const roundsBefore = now - options.keepMs;
  const packetsBefore = now - options.keepPacketsMs;
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
