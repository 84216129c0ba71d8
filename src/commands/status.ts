/**
 * `pad status`: one screen answering "is pad working, and is anything wrong?" — the database,
 * the last round collect made, the last detect and its model, how long warm-up still lasts, the
 * open incidents. Exit 1, with the reason, when collect has not run for a few minutes. Its flags
 * are defined in src/cli/status.ts, which loads this module when it runs.
 *
 * @module
 */
import type { Output } from "../output.ts";
import { duration, figure, plural } from "../report/format.ts";
import { databaseFileBytes, openDatabaseReadOnly, pragma } from "../store/database.ts";
import { type Incident, listIncidents } from "../store/incidents.ts";
import { type Health, readHealth } from "../store/status.ts";
import { DEFAULT_WARMUP_ROUNDS } from "../detect/defaults.ts";
import { printable } from "../text.ts";
import { isoString } from "../time.ts";

/** collect runs every minute: a newest round older than this means it stopped. */
const STALE_MS = 5 * 60_000;

/** What `pad status` found. */
export interface StatusReport {
  database: string;
  bytes: number;
  schema: number;
  health: Health;
  /** Rounds of history detect still needs before the model judges. */
  warmupLeft: number;
  openIncidents: Incident[];
  /** Why pad is not working as scheduled; empty when it is. */
  problems: string[];
}

/** Reads the database (read-only), prints the status and returns it. */
export function runStatus(
  options: { db: string; now: number },
  out: Output,
  format: "text" | "json" = "text",
): StatusReport {
  using db = openDatabaseReadOnly(options.db);
  const health = readHealth(db);
  const report: StatusReport = {
    database: options.db,
    bytes: databaseFileBytes(options.db),
    schema: pragma(db, "user_version"),
    health,
    warmupLeft: Math.max(0, DEFAULT_WARMUP_ROUNDS - health.completeRounds),
    openIncidents: listIncidents(db, { status: "open", limit: 0 }),
    problems: problemsOf(health, options.now),
  };
  out.write(
    format === "json" ? JSON.stringify(statusJson(report)) + "\n" : text(report, options.now),
  );
  return report;
}

function problemsOf(health: Health, now: number): string[] {
  const last = health.lastLive;
  if (last === null) {
    return ["collect never ran on this database: schedule it with pad cron --install"];
  }
  const seen = last.endTime ?? last.startTime;
  if (last.status === "open" && now - last.startTime < STALE_MS) return [];
  if (now - seen > STALE_MS) {
    return [
      `collect has not stored a round for ${duration(now - seen)}: check its schedule ` +
      "(crontab -l, or systemctl list-timers) and its log",
    ];
  }
  if (last.status === "failed") {
    return [`collect's last round failed: ${last.error ?? "no reason stored"}`];
  }
  return [];
}

function text(r: StatusReport, now: number): string {
  const ago = (t: number) => `${duration(Math.max(0, now - t))} ago`;
  const h = r.health;
  const rows: [string, string][] = [
    ["database", `${r.database} (${mebibytes(r.bytes)}, schema ${r.schema})`],
  ];
  const last = h.lastLive;
  rows.push([
    "collect",
    last === null
      ? "never ran"
      : `round ${last.id} ${last.status}, ${ago(last.endTime ?? last.startTime)}, probe ${
        last.probe ?? "none"
      }, ${
        last.captureOff === null
          ? `capture on${last.interface === null ? "" : ` ${last.interface}`}`
          : `capture off (${last.captureOff})`
      }`,
  ]);
  rows.push([
    "detect",
    h.lastDetect === null
      ? "never ran (pad detect runs hourly from cron or its timer)"
      : `ran ${ago(h.lastDetect)}; ${
        h.threshold === null ? "threshold not calibrated yet" : `threshold ${figure(h.threshold)}`
      }`,
  ]);
  rows.push([
    "warm-up",
    r.warmupLeft === 0
      ? `done (${plural(h.completeRounds, "round")} of history)`
      : `${plural(r.warmupLeft, "round")} to go (about ${
        roughly(r.warmupLeft * 60_000)
      } of collect, then the next hourly detect); the rules flag meanwhile`,
  ]);
  rows.push([
    "incidents",
    r.openIncidents.length === 0 ? "none open" : `${r.openIncidents.length} open (pad incidents)`,
  ]);
  for (const incident of r.openIncidents.slice(0, 5)) {
    rows.push(["", `#${incident.id} since ${isoString(incident.startTime)}: ${incident.summary}`]);
  }
  for (const problem of r.problems) rows.push(["problem", problem]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}`).join("\n") + "\n";
}

function statusJson(r: StatusReport) {
  const last = r.health.lastLive;
  return {
    ok: r.problems.length === 0,
    problems: r.problems,
    database: r.database,
    bytes: r.bytes,
    schema: r.schema,
    last_round: last === null ? null : {
      id: last.id,
      status: last.status,
      start_time: isoString(last.startTime),
      end_time: last.endTime === null ? null : isoString(last.endTime),
      probe: last.probe,
      interface: last.interface,
      capture_off: last.captureOff,
    },
    last_detect: r.health.lastDetect === null ? null : isoString(r.health.lastDetect),
    threshold: r.health.threshold,
    rounds: r.health.completeRounds,
    warmup_rounds_left: r.warmupLeft,
    open_incidents: r.openIncidents.map((i) => ({
      id: i.id,
      kind: i.kind,
      summary: i.summary,
      start_time: isoString(i.startTime),
      rounds: i.rounds,
    })),
  };
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** An estimate as a person says it: `45 min`, `1.5 h`, `2 h` (not `1.93 h`). */
function roughly(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.round(minutes / 30) / 2} h`;
}
