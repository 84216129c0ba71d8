/**
 * An incident as pad tells it: one line for a person (stdout, syslog, mail from cron) and one
 * JSON object for programs (`pad detect --format json`, `pad incidents --format json`, the
 * exec hook's stdin), both saying which host, which pad and which model version scored it.
 *
 * @module
 */
import type { Incident } from "../store/incidents.ts";
import { printable } from "../text.ts";
import { isoString } from "../time.ts";

/** What an incident event is: it opened, or it stopped needing attention. */
export type IncidentEvent = "opened" | "resolved";

/** Where and by what an incident was found. */
export interface IncidentSource {
  host: string | null;
  padVersion: string;
}

/** An incident event as one JSON object; the fields are stable for scripts. */
export function incidentJson(
  incident: Incident,
  event: IncidentEvent | null,
  source: IncidentSource | null,
): Record<string, unknown> {
  return {
    type: "incident",
    ...(event ? { event } : {}),
    id: incident.id,
    status: incident.status,
    kind: incident.kind,
    summary: incident.summary,
    start_time: isoString(incident.startTime),
    end_time: isoString(incident.endTime),
    first_round_id: incident.firstRoundId,
    last_round_id: incident.lastRoundId,
    rounds: incident.rounds,
    peak_score: incident.peakScore,
    model_version: incident.modelVersion,
    ports: incident.ports,
    peers: incident.peers,
    opened_at: isoString(incident.openedAt),
    closed_at: incident.closedAt === null ? null : isoString(incident.closedAt),
    acknowledged_at: incident.acknowledgedAt === null ? null : isoString(incident.acknowledgedAt),
    accepted_at: incident.acceptedAt === null ? null : isoString(incident.acceptedAt),
    ...(source ? { host: source.host, pad_version: source.padVersion } : {}),
  };
}

/**
 * The incident in one line: `Incident 12 opened on web1: outbound TCP SYN scan: 614 ports of
 * 198.51.100.7 from tcp/51406 (since 2026-11-21T09:13Z, 2 rounds)`. Control characters in
 * names from outside are shown escaped.
 */
export function incidentLine(
  incident: Incident,
  event: IncidentEvent | null,
  host: string | null,
): string {
  const what = event === "resolved" ? `${incident.status}` : event ?? incident.status;
  const on = host ? ` on ${host}` : "";
  const since = isoString(incident.startTime).replace(/:\d\d\.\d{3}Z$/, "Z");
  const rounds = `${incident.rounds} round${incident.rounds === 1 ? "" : "s"}`;
  return printable(
    `Incident ${incident.id} ${what}${on}: ${incident.summary} (since ${since}, ${rounds})`,
  );
}
