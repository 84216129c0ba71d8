/**
 * `pad report`: one self-contained HTML page of a time range's rounds. Its flags are defined in
 * src/cli/report.ts, which loads this module when it runs.
 *
 * @module
 */
import { checkOutputFile, type OutputTarget, writeFileAtomic } from "../atomic_file.ts";
import { UsageError } from "../errors.ts";
import { logger } from "../log.ts";
import { isoString } from "../time.ts";
import type { Output } from "../output.ts";
import { databaseSpan, loadReport } from "../store/report.ts";
import { isoTime, plural } from "../report/format.ts";
import { renderReport } from "../report/html.ts";
import { databaseFiles, openDatabaseReadOnly } from "../store/database.ts";

/** Options of `pad report`. */
export interface ReportOptions {
  db: string;
  /** The HTML file to write. */
  output: string;
  /** First moment covered, ms since the epoch. */
  since: number;
  /** End of the range (exclusive), ms since the epoch; now when absent. */
  until?: number;
}

/** What a report covered. */
export interface ReportResult {
  output: string;
  rounds: number;
  incidents: number;
  anomalies: number;
}

const log = logger("report");

/**
 * Writes one self-contained HTML report of the rounds in the range (scores against the
 * threshold, anomalies with their ports, port activity, packets and drops, the model's fits),
 * reading the database read-only. The file appears whole or not at all.
 */
export function runReport(options: ReportOptions, out: Output): ReportResult {
  const until = options.until ?? Date.now();
  if (options.since >= until) {
    throw new UsageError(
      `Invalid range: --since ${isoTime(options.since)} is not before --until ${
        isoTime(until)
      }; choose an earlier --since or a later --until`,
    );
  }
  const target: OutputTarget = { flag: "-o", protect: databaseFiles(options.db) };
  checkOutputFile(options.output, target);
  using db = openDatabaseReadOnly(options.db);
  const data = loadReport(db, { since: options.since, until });
  const span = data.rounds.total === 0 ? databaseSpan(db) : null;
  const page = renderReport(data, {
    database: options.db,
    host: hostName(),
    generatedAt: Date.now(),
    databaseSpan: span,
  });
  // 0600 like the database: the report names the host's services, processes and peers.
  writeFileAtomic(options.output, page, 0o600, target);
  out.write(
    `Wrote ${options.output}: ${plural(data.rounds.total, "round")}, ${
      plural(data.incidents.length, "incident")
    } (${plural(data.anomalies.total, "flagged round")}) from ${isoTime(options.since)} to ${
      isoTime(until)
    }\n`,
  );
  if (data.rounds.total === 0) {
    log.warn(
      span === null
        ? "The database holds no rounds yet: run pad collect (or pad import) first"
        : "No rounds in that range; the database holds {rounds} from {first} to {last}: " +
          "pass --since {first}",
      span === null ? {} : {
        rounds: plural(span.rounds, "round"),
        first: isoString(span.first),
        last: isoString(span.last),
      },
    );
  }
  return {
    output: options.output,
    rounds: data.rounds.total,
    incidents: data.incidents.length,
    anomalies: data.anomalies.total,
  };
}

function hostName(): string | null {
  try {
    return Deno.hostname();
  } catch {
    return null; // without --allow-sys the report simply has no host name
  }
}
