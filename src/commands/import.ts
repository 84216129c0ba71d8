/**
 * `pad import FILE`: a pcap or pcapng file stored as rounds, sliced by the packets' own time
 * stamps. Its flags are defined in src/cli/import.ts, which loads this module when it runs.
 *
 * @module
 */
import { plural } from "../report/format.ts";
import { LocalNetworks, PRIVATE_NETWORKS } from "../net/networks.ts";
import type { SliceCounts } from "../capture/round_slicer.ts";
import type { RoundTrafficResult } from "../capture/round_traffic.ts";
import { FileRounds, type FileRoundsEnd } from "../capture/import_reader.ts";
import { isoString } from "../time.ts";
import { PadError, UsageError } from "../errors.ts";
import { fileFingerprint } from "../capture/fingerprint.ts";
import {
  beginImport,
  finishImport,
  type ImportRecord,
  previousImport,
  roundsOfImport,
} from "../store/imports.ts";
import { databaseFailure, isDiskFull } from "../store/failure.ts";
import { lockRole } from "../store/lock.ts";
import { logger } from "../log.ts";
import { progress } from "../progress.ts";
import type { Output } from "../output.ts";
import { type Database, openDatabase, WriteBatch } from "../store/database.ts";
import { setCoverage, storeRound } from "../store/rounds.ts";

const log = logger("import");

/** Options of `pad import FILE`. */
export interface ImportOptions {
  db: string;
  /** A pcap or pcapng file. */
  file: string;
  /** Rounds are slices of this many ms, aligned to multiples of it since the epoch. */
  roundLengthMs: number;
  /** Networks of the monitored host; default {@linkcode PRIVATE_NETWORKS}. */
  local?: string[];
  /** BPF filter applied while reading. */
  filter?: string;
  /** "libpcap" reads through libpcap even without a filter (for tests and benchmarks). */
  reader?: "pad" | "libpcap";
  maxPackets: number;
  payloadBytes: number;
  /** Import a file with the fingerprint of one imported before. */
  again?: boolean;
  /** No progress line on a terminal. */
  quiet?: boolean;
}

/** What an import stored. */
export interface ImportResult {
  /** Which reader read the file (libpcap for filters and formats pad's reader leaves to it). */
  reader: "pad" | "libpcap";
  rounds: number;
  frames: number;
  packets: number;
  malformed: number;
  nonIp: number;
  seconds: number;
  packetsPerSecond: number;
}

/**
 * Stores a capture file as rounds: packets are sliced by their own timestamps into
 * `roundLengthMs` slots. Rounds are written complete, a few hundred milliseconds' worth per
 * transaction, so an interrupted import leaves whole rounds only. Minutes without packets make no round (nothing says the host
 * was watched then). Each packet goes to the round of its own time stamp, in whatever order
 * the file holds them (see `round_slicer.ts`); frames stamped where no round can be are skipped.
 *
 * A file that ends inside a record (a capture cut short) is imported up to that record, with a
 * warning; a record that makes no sense stops the import with a `PadError` once the packets
 * before it are stored.
 */
export async function runImport(options: ImportOptions, out: Output): Promise<ImportResult> {
  // The worker reading the file counts with these; a bad one is a usage error, said first.
  const local = options.local ?? PRIVATE_NETWORKS;
  new LocalNetworks(local);
  using db = openDatabase(options.db);
  // Every row an import writes refers to a round and ports it wrote before, in the same
  // transaction, and it deletes nothing: checking each reference took a fifth of an office
  // LAN's import. (Its tests check the result with PRAGMA foreign_key_check.)
  db.exec("PRAGMA foreign_keys = OFF");
  using _lock = lockRole(options.db, "import");
  const started = performance.now();
  using file = await FileRounds.open({
    file: options.file,
    filter: options.filter,
    reader: options.reader,
    roundLengthMs: options.roundLengthMs,
    local,
    maxPackets: options.maxPackets,
    payloadBytes: options.payloadBytes,
  });
  const identity = await refuseImportedBefore(db, options);
  // An import of this file that stopped midway is resumed: its rounds stay, and are skipped.
  const resumed = identity?.resume ?? null;
  const importedAt = resumed?.importedAt ?? Date.now();
  log.debug("Reading {file} with {reader}", {
    file: options.file,
    reader: file.reader === "pad" ? "pad's reader" : "libpcap",
  });

  const roundIds = resumed ? roundsOfImport(db, resumed) : new Map<number, number>();
  const storedBefore = new Set(roundIds.keys());
  // Rounds are committed a quarter second's worth at a time, each still whole: one commit per
  // round was a fifth of the import of an office LAN's 960 rounds. The import is recorded with
  // the first of them, so one that stops midway leaves a record to resume from.
  using batch = new WriteBatch(db);
  const importId = identity === null ? null : resumed?.id ??
    batch.run(() => beginImport(db, { ...identity, file: options.file, importedAt }));
  let end: FileRoundsEnd;
  try {
    using shown = progress("pad import", "frames", null, options.quiet ?? false);
    end = await file.read({
      round: (slot, round, malformed) => {
        if (storedBefore.has(slot)) return;
        roundIds.set(
          slot,
          batch.run(() => storeSlot(db, options, importedAt, slot, round, malformed)),
        );
      },
      progress: (frames, rounds) => shown.update(frames, plural(rounds, "round")),
    });
    batch.commit();
    markPartialRounds(db, roundIds, end.span, options.roundLengthMs);
    if (importId !== null) finishImport(db, importId, end.slices.rounds);
  } catch (error) {
    throw importId === null ? error : resumable(error, options);
  }
  const rounds = end.slices.rounds;

  const seconds = (performance.now() - started) / 1000;
  const { frames, ip, nonIp, malformed } = end.counts;
  const result: ImportResult = {
    reader: file.reader,
    rounds,
    frames,
    packets: ip,
    malformed,
    nonIp,
    seconds,
    packetsPerSecond: Math.round(frames / Math.max(seconds, 1e-6)),
  };
  const before = resumed === null ? "" : ` (${storedBefore.size} of them stored before, by the ` +
    `import of ${isoString(resumed.importedAt)} that stopped)`;
  out.write(
    `Imported ${options.file}: ${plural(rounds, "round")}${before}, ${ip} IP packets of ` +
      `${frames} frames ` +
      `(${result.malformed} malformed, ${nonIp} not IP) in ${seconds.toFixed(2)} s, ` +
      `${result.packetsPerSecond} packets/s\n`,
  );
  warnAboutStamps(options.file, end.slices);
  if (ip > 0 && end.strangers.packets === ip) warnNoLocalAddress(options, end.strangers.top);
  for (const [type, n] of end.undecoded) {
    log.warn(
      "{file}: pad does not decode link type {type}: its {n} frames count as not IP " +
        "(README lists the link types pad decodes)",
      { file: options.file, type, n },
    );
  }
  const stoppedBy = end.stoppedBy;
  if (stoppedBy?.kind === "truncated") {
    log.warn(
      "{file} ends inside frame {frame} ({reason}): the {frames} frames before it were imported",
      { file: options.file, frame: frames + 1, reason: stoppedBy.message, frames },
    );
  } else if (stoppedBy !== null) {
    throw new PadError(
      `Cannot import all of ${options.file}: frame ${frames + 1} is corrupt ` +
        `(${stoppedBy.message}); the ${frames} frames before it were imported`,
    );
  }
  return result;
}

/**
 * A disk that filled in the middle of an import as one line that also says the rounds it
 * committed stay and the same import resumes; other errors as they are.
 */
function resumable(error: unknown, options: ImportOptions): unknown {
  const failure = databaseFailure(error, options.db);
  if (!(failure instanceof PadError) || !isDiskFull(error, options.db)) return error;
  return new PadError(
    `${failure.message}; then run the same pad import again: it keeps the rounds already ` +
      "stored and adds the rest",
    { cause: error },
  );
}

/** One warning for each way the capture's time stamps were not in order or not possible. */
function warnAboutStamps(file: string, counts: SliceCounts): void {
  const first = counts.firstOutOfRange;
  if (first) {
    log.warn(
      "{file}: {n} frames are stamped where no round can be, before 1970 or after 9999 (the " +
        "first, frame {frame}, at {time}): they were not imported",
      { file, n: counts.outOfRange, frame: first.frame, time: isoString(first.timeMs) },
    );
  }
  if (counts.outOfOrder > 0) {
    log.warn(
      "{file}: {n} frames are stamped earlier than the frame before them; each went to the " +
        "round of its own time",
      { file, n: counts.outOfOrder },
    );
  }
  if (counts.late > 0) {
    log.warn(
      "{file}: {n} packets came after their round was stored, so some minutes have two rounds; " +
        "sort the capture by time first (reordercap IN OUT) and import the sorted file",
      { file, n: counts.late },
    );
  }
}

/**
 * The file's fingerprint, after making sure it was not imported before (unless `--again`): a
 * second import would store every round twice. An import of it that stopped midway is returned
 * as `resume`. Null for what is not a regular file.
 */
async function refuseImportedBefore(
  db: Database,
  options: ImportOptions,
): Promise<{ fingerprint: string; bytes: number; resume: ImportRecord | null } | null> {
  if (!Deno.statSync(options.file).isFile) return null;
  const identity = await fileFingerprint(options.file);
  const before = options.again ? null : previousImport(db, identity.fingerprint);
  if (before !== null && before.complete) {
    throw new UsageError(
      `${options.file} was imported before (as ${before.file}, ${isoString(before.importedAt)}, ` +
        `${plural(before.rounds, "round")}): importing it again stores its rounds twice; ` +
        "pass --again to do so anyway",
    );
  }
  return { ...identity, resume: before };
}

/**
 * Where no packet has a local address, every packet was stored as inbound: say so, with the
 * addresses the capture held most.
 */
function warnNoLocalAddress(
  options: ImportOptions,
  busiest: [address: string, packets: number][],
): void {
  const top = busiest.map(([address, n]) => `${address} (${plural(n, "packet")})`);
  log.warn(
    "{file}: no packet has an address in {local}, so every packet counts as inbound; the " +
      "capture's busiest addresses are {top}: pass the host's own with --local",
    {
      file: options.file,
      local: options.local ? `--local ${options.local.join(", ")}` : "the private ranges",
      top: top.join(", "),
    },
  );
}

/**
 * The capture's first and last rounds hold only the part of their slot that it covered (from
 * its first frame, up to its last): they are marked, and the model does not judge them.
 */
function markPartialRounds(
  db: Database,
  roundIds: Map<number, number>,
  span: { first: number; last: number },
  length: number,
): void {
  if (span.first > span.last) return;
  const slotOf = (ms: number) => Math.floor(ms / length) * length;
  const [first, last] = [slotOf(span.first), slotOf(span.last)];
  const covered = new Map<number, number>(
    first === last
      ? [[first, span.last - span.first]]
      : [[first, first + length - span.first], [last, span.last - last]],
  );
  for (const [slot, ms] of covered) {
    const id = roundIds.get(slot);
    if (id !== undefined && ms < length) setCoverage(db, id, ms / length);
  }
}

function storeSlot(
  db: Database,
  options: ImportOptions,
  importedAt: number,
  slot: number,
  round: RoundTrafficResult,
  malformed: number,
): number {
  return storeRound(db, {
    startTime: slot,
    endTime: slot + options.roundLengthMs,
    status: "complete",
    source: "import",
    sourceFile: options.file,
    importedAt,
    capture: { seen: round.seen, malformed, dns: round.dns, attempts: round.attempts },
    traffic: round.counts,
    packets: round.packets,
    flows: round.flows,
  });
}
