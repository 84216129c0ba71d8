/**
 * `pad incidents`, `pad incidents show ID`, `pad ack ID` and `pad accept ID`: what happened, in
 * words, and a person's answer to it. The commands are defined in src/cli/incidents.ts, which
 * loads this module when one runs.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { incidentJson } from "../fleet/incident_message.ts";
import type { Output } from "../output.ts";
import { openDatabaseReadOnly, openExistingDatabase } from "../store/database.ts";
import {
  acceptIncident,
  acknowledgeIncident,
  type Incident,
  incidentById,
  incidentFlows,
  incidentRounds,
  type IncidentStatus,
  listIncidents,
} from "../store/incidents.ts";
import { alignedTable, type RowFormat, rowWriter } from "../table_format.ts";
import { flowEndings, plural } from "../report/format.ts";
import { printable } from "../text.ts";
import { isoString } from "../time.ts";

/** Options of `pad incidents`. */
export interface IncidentsOptions {
  db: string;
  status?: IncidentStatus;
  since?: number;
  format?: RowFormat;
  limit: number;
}

const COLUMNS = ["id", "status", "kind", "start_time", "end_time", "rounds", "summary"];

/** Lists incidents, newest first, as a table, JSON lines, CSV or TSV. */
export function runIncidents(options: IncidentsOptions, out: Output): Incident[] {
  using db = openDatabaseReadOnly(options.db);
  const incidents = listIncidents(db, options);
  const format = options.format ?? (out.isTerminal ? "table" : "tsv");
  if (format === "json") {
    for (const i of incidents) out.write(JSON.stringify(incidentJson(i, null, null)) + "\n");
    return incidents;
  }
  if (incidents.length === 0 && format === "table") {
    out.write("No incidents\n");
    return incidents;
  }
  const writer = rowWriter(
    format,
    COLUMNS,
    (text) => out.write(text),
    (column, cell) =>
      column.endsWith("_time") && typeof cell === "number"
        ? isoString(cell).replace(/:\d\d\.\d{3}Z$/, "Z")
        : String(cell ?? ""),
  );
  for (const i of incidents) {
    writer.row({
      id: i.id,
      status: i.status,
      kind: i.kind,
      start_time: i.startTime,
      end_time: i.endTime,
      rounds: i.rounds,
      summary: i.summary,
    });
  }
  writer.end();
  return incidents;
}

/** Shows one incident with its rounds. */
export function runIncidentShow(
  options: { db: string; id: number; format: "text" | "json" },
  out: Output,
): void {
  using db = openDatabaseReadOnly(options.db);
  const incident = incidentById(db, options.id);
  if (!incident) throw new UsageError(`No incident ${options.id}: pad incidents lists them`);
  const rounds = incidentRounds(db, options.id);
  const { flows, states } = incidentFlows(db, incident, FLOWS_SHOWN);
  if (options.format === "json") {
    out.write(
      JSON.stringify({
        ...incidentJson(incident, null, null),
        flagged_rounds: rounds.map((r) => ({
          round_id: r.roundId,
          start_time: isoString(r.startTime),
          score: r.score,
          threshold: r.threshold,
          reason: r.reason,
          ports: r.ports,
        })),
        flow_states: states,
        flows: flows.map((f) => ({
          round_id: f.roundId,
          direction: f.direction,
          protocol: f.protocol,
          port: f.port,
          command: f.command,
          pid: f.pid,
          remote_addr: f.remoteAddr,
          remote_port: f.remotePort,
          packets_in: f.packetsIn,
          packets_out: f.packetsOut,
          bytes_in: f.bytesIn,
          bytes_out: f.bytesOut,
          state: f.state,
          dns_query: f.dnsQuery,
        })),
      }) + "\n",
    );
    return;
  }
  const port = (p: Incident["ports"][number]) =>
    `${p.protocol}/${p.port ?? "-"}${
      p.command ? ` (${p.command}${p.pid ? `, pid ${p.pid}` : ""})` : ""
    }`;
  const answered = incident.acceptedAt !== null
    ? `accepted ${isoString(incident.acceptedAt)}`
    : incident.acknowledgedAt !== null
    ? `acknowledged ${isoString(incident.acknowledgedAt)}`
    : incident.closedAt !== null
    ? `closed ${isoString(incident.closedAt)} after a quiet spell`
    : "open: answer with pad ack " + incident.id + " (seen) or pad accept " + incident.id +
      " (legitimate)";
  const lines: [string, string][] = [
    ["status", answered],
    ["kind", incident.kind],
    ["from", isoString(incident.startTime)],
    ["to", isoString(incident.endTime)],
    ["rounds", `${incident.rounds} (${incident.firstRoundId} to ${incident.lastRoundId})`],
    ["peak score", incident.peakScore === null ? "-" : incident.peakScore.toPrecision(4)],
    ["ports", incident.ports.map(port).join(", ") || "-"],
    ["peers", incident.peers.join(", ") || "-"],
  ];
  out.write(
    printable(`Incident ${incident.id}: ${incident.summary}`) + "\n\n" +
      lines.map(([k, v]) => `${k.padEnd(11)}${printable(v)}`).join("\n") + "\n\n",
  );
  out.write(alignedTable(
    ["round", "start", "score", "threshold", "reason", "ports"],
    rounds.map((r) => [
      String(r.roundId),
      isoString(r.startTime),
      r.score === null ? "-" : r.score.toPrecision(4),
      r.threshold === null ? "-" : r.threshold.toPrecision(4),
      r.reason,
      r.ports.slice(0, 3).map(port).join(", "),
    ]),
  ));
  if (flows.length === 0) return;
  const total = Object.values(states).reduce((a, b) => a + b, 0);
  out.write(
    `\n${plural(total, "flow")} of its ports and peers (${flowEndings(states)}); the busiest ` +
      `(pad inspect flows --round N has all):\n`,
  );
  out.write(alignedTable(
    ["round", "started", "local", "remote", "packets in/out", "bytes in/out", "state"],
    flows.map((f) => [
      String(f.roundId),
      f.direction === "in" ? "remote" : f.direction === "out" ? "this host" : "local",
      port({ protocol: f.protocol, port: f.port, command: f.command, pid: f.pid }),
      printable(
        `${f.remoteAddr}${f.remotePort === null ? "" : `:${f.remotePort}`}` +
          (f.dnsQuery ? ` (${f.dnsQuery})` : ""),
      ),
      `${f.packetsIn}/${f.packetsOut}`,
      `${f.bytesIn}/${f.bytesOut}`,
      f.state ?? "-",
    ]),
  ));
}

/** Flows `pad incidents show` lists. */
const FLOWS_SHOWN = 10;

/** `pad ack` and `pad accept`. */
export function runAnswer(
  options: { db: string; id: number; answer: "ack" | "accept" },
  out: Output,
): void {
  using db = openExistingDatabase(options.db);
  const incident = incidentById(db, options.id);
  if (!incident) throw new UsageError(`No incident ${options.id}: pad incidents lists them`);
  const now = Date.now();
  if (options.answer === "ack") {
    if (incident.status !== "open") {
      out.write(`Incident ${incident.id} is ${incident.status} already: nothing to acknowledge\n`);
      return;
    }
    acknowledgeIncident(db, incident.id, now);
    out.write(
      `Incident ${incident.id} acknowledged: no more alerts for it; it closes after a quiet ` +
        "spell\n",
    );
    return;
  }
  if (incident.status === "accepted") {
    out.write(`Incident ${incident.id} is accepted already\n`);
    return;
  }
  const rounds = acceptIncident(db, incident.id, now);
  out.write(
    `Incident ${incident.id} accepted: the next pad detect learns its ${rounds} ` +
      `round${rounds === 1 ? "" : "s"} as normal, and rounds with the same cause join it ` +
      "without an alert\n",
  );
}
