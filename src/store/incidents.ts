/**
 * Incidents in the database: flagged rounds grouped into one thing that happened, its status
 * as a person answered it, and what was told about it to each alert target.
 *
 * @module
 */
import { type Database, hasTable, prepared, transaction } from "./database.ts";
import { jsonList, numberOrNull, textOrNull } from "./row_values.ts";

/** An incident's status: open; closed after a quiet spell; acknowledged (seen); accepted. */
export type IncidentStatus = "open" | "closed" | "acknowledged" | "accepted";

/** What an incident is about: the kind of cause its rounds' measurements point at. */
export const INCIDENT_KINDS = [
  "new listener",
  "listener",
  "outbound scan",
  "inbound scan",
  "horizontal scan",
  "brute force",
  "flood",
  "dns",
  "ports",
  "traffic",
  "icmp",
] as const;

export type IncidentKind = typeof INCIDENT_KINDS[number];

/** A port behind an incident, with its owner where the probe knew it. */
export interface IncidentPort {
  protocol: string;
  port: number | null;
  command: string | null;
  pid: number | null;
}

/** What a flagged round's measurements say happened (see `src/detect/causes.ts`). */
export interface IncidentCause {
  kind: IncidentKind;
  /** Kind and subject: rounds with the same key belong to the same incident. */
  key: string;
  summary: string;
  ports: IncidentPort[];
  peers: string[];
}

/** One incident as stored. */
export interface Incident {
  id: number;
  status: IncidentStatus;
  kind: string;
  causeKey: string;
  summary: string;
  firstRoundId: number | null;
  lastRoundId: number | null;
  startTime: number;
  endTime: number;
  rounds: number;
  peakScore: number | null;
  /** The model version that scored its first round. */
  modelVersion: number | null;
  ports: IncidentPort[];
  peers: string[];
  openedAt: number;
  closedAt: number | null;
  acknowledgedAt: number | null;
  acceptedAt: number | null;
}

/** A flagged round, as an incident takes it in. */
export interface IncidentRound {
  roundId: number;
  anomalyId: number;
  startTime: number;
  endTime: number;
  score: number | null;
  /** The model version that scored it. */
  modelVersion: number | null;
}

/** Incidents still taking rounds in (open, acknowledged or accepted), newest first. */
export function activeIncidents(db: Database): Incident[] {
  return db.prepare(
    "SELECT * FROM incidents WHERE status IN ('open', 'acknowledged', 'accepted') " +
      "ORDER BY end_time DESC, id DESC",
  ).all().map(incidentOf);
}

/** One incident, or null. */
export function incidentById(db: Database, id: number): Incident | null {
  const row = db.prepare("SELECT * FROM incidents WHERE id = ?").get(id);
  return row ? incidentOf(row) : null;
}

/** Filters of {@linkcode listIncidents}. */
export interface IncidentFilter {
  status?: IncidentStatus;
  /** Incidents that ended at or after this time. */
  since?: number;
  /** At most this many, newest first; 0 for all. */
  limit: number;
}

/** Incidents, newest first. */
export function listIncidents(db: Database, filter: IncidentFilter): Incident[] {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  if (filter.status) {
    clauses.push("status = ?");
    params.push(filter.status);
  }
  if (filter.since !== undefined) {
    clauses.push("end_time >= ?");
    params.push(filter.since);
  }
  const where = clauses.length > 0 ? ` WHERE ${clauses.join(" AND ")}` : "";
  const limit = filter.limit > 0 ? ` LIMIT ${filter.limit}` : "";
  return db.prepare(`SELECT * FROM incidents${where} ORDER BY start_time DESC, id DESC${limit}`)
    .all(...params).map(incidentOf);
}

/** Opens an incident with its first flagged round; `status` accepted for an ignore rule's. */
export function openIncident(
  db: Database,
  cause: IncidentCause,
  round: IncidentRound,
  now: number,
  status: "open" | "accepted" = "open",
): number {
  return transaction(db, () => {
    const id = Number(
      db.prepare(
        "INSERT INTO incidents (status, kind, cause_key, summary, first_round_id, last_round_id, " +
          "start_time, end_time, rounds, peak_score, model_version, ports, peers, opened_at, " +
          "accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) RETURNING id",
      ).get(
        status,
        cause.kind,
        cause.key,
        cause.summary,
        round.roundId,
        round.roundId,
        round.startTime,
        round.endTime,
        round.score,
        round.modelVersion,
        JSON.stringify(cause.ports),
        JSON.stringify(cause.peers),
        now,
        status === "accepted" ? now : null,
      )!.id,
    );
    linkAnomaly(db, round.anomalyId, id);
    return id;
  });
}

/**
 * Adds a flagged round to an incident: its span, its peak, the ports and peers behind it. A
 * round of the same cause that scores higher than any before gives the incident its words (a
 * scan's second round holds most of its ports).
 */
export function extendIncident(
  db: Database,
  incident: Incident,
  cause: IncidentCause,
  round: IncidentRound,
): void {
  const ports = [...incident.ports];
  for (const p of cause.ports) {
    if (!ports.some((q) => q.protocol === p.protocol && q.port === p.port)) ports.push(p);
  }
  const peers = [...new Set([...incident.peers, ...cause.peers])];
  const later = round.startTime >= incident.startTime;
  // An accepted incident keeps its words (an ignore rule's are prefixed with the rule).
  const peak = incident.status !== "accepted" && cause.key === incident.causeKey &&
    cause.kind === incident.kind &&
    round.score !== null &&
    (incident.peakScore === null || round.score > incident.peakScore);
  const summary = peak ? cause.summary : incident.summary;
  transaction(db, () => {
    db.prepare(
      "UPDATE incidents SET last_round_id = CASE WHEN ? THEN ? ELSE last_round_id END, " +
        "first_round_id = CASE WHEN ? THEN first_round_id ELSE ? END, " +
        "start_time = min(start_time, ?), end_time = max(end_time, ?), rounds = rounds + 1, " +
        "peak_score = max(coalesce(peak_score, ?), coalesce(?, peak_score)), ports = ?, " +
        "peers = ?, summary = ? WHERE id = ?",
    ).run(
      later ? 1 : 0,
      round.roundId,
      later ? 1 : 0,
      round.roundId,
      round.startTime,
      round.endTime,
      round.score,
      round.score,
      JSON.stringify(ports.slice(0, MAX_LISTED)),
      JSON.stringify(peers.slice(0, MAX_LISTED)),
      summary,
      incident.id,
    );
    linkAnomaly(db, round.anomalyId, incident.id);
  });
  incident.ports = ports;
  incident.peers = peers;
  incident.summary = summary;
  if (round.score !== null && (incident.peakScore === null || round.score > incident.peakScore)) {
    incident.peakScore = round.score;
  }
  incident.endTime = Math.max(incident.endTime, round.endTime);
  incident.lastRoundId = later ? round.roundId : incident.lastRoundId;
  incident.rounds++;
}

/** Ports and peers an incident lists at most. */
const MAX_LISTED = 50;

function linkAnomaly(db: Database, anomalyId: number, incidentId: number): void {
  db.prepare("UPDATE anomalies SET incident_id = ? WHERE id = ?").run(incidentId, anomalyId);
}

/**
 * Closes the open and acknowledged incidents whose last round ended before `quietSince`: a
 * quiet spell has passed. Returns them.
 */
export function closeQuietIncidents(db: Database, quietSince: number, now: number): Incident[] {
  return transaction(db, () =>
    db.prepare(
      "UPDATE incidents SET status = 'closed', closed_at = ? " +
        "WHERE status IN ('open', 'acknowledged') AND end_time < ? RETURNING *",
    ).all(now, quietSince).map(incidentOf));
}

/** pad ack: seen; no more alerts. */
export function acknowledgeIncident(db: Database, id: number, now: number): void {
  db.prepare(
    "UPDATE incidents SET status = 'acknowledged', acknowledged_at = ? WHERE id = ?",
  ).run(now, id);
}

/**
 * pad accept: legitimate. Its rounds count as normal from now on: they are marked unlearned,
 * so the next detect learns them, and rounds with the same cause join it instead of opening
 * another incident.
 */
export function acceptIncident(db: Database, id: number, now: number): number {
  return transaction(db, () => {
    db.prepare("UPDATE incidents SET status = 'accepted', accepted_at = ? WHERE id = ?")
      .run(now, id);
    return Number(
      db.prepare(
        "UPDATE round_scores SET learned = 0 WHERE round_id IN " +
          "(SELECT round_id FROM anomalies WHERE incident_id = ?)",
      ).run(id).changes,
    );
  });
}

/** The flagged rounds of an incident, oldest first, with their scores and ports. */
export function incidentRounds(db: Database, id: number): {
  roundId: number;
  startTime: number;
  score: number | null;
  threshold: number | null;
  reason: string;
  ports: IncidentPort[];
}[] {
  const ports = db.prepare(
    "SELECT port_id, protocol, pid, command FROM anomaly_ports WHERE anomaly_id = ? " +
      "ORDER BY error DESC, id",
  );
  return db.prepare(
    "SELECT a.id, a.round_id, r.start_time, a.score, a.threshold, a.reason FROM anomalies a " +
      "JOIN rounds r ON r.id = a.round_id WHERE a.incident_id = ? ORDER BY r.start_time",
  ).all(id).map((row) => ({
    roundId: Number(row.round_id),
    startTime: Number(row.start_time),
    score: numberOrNull(row.score),
    threshold: numberOrNull(row.threshold),
    reason: String(row.reason),
    ports: ports.all(Number(row.id)).map((p) => ({
      protocol: String(p.protocol),
      port: numberOrNull(p.port_id),
      command: textOrNull(p.command),
      pid: numberOrNull(p.pid),
    })),
  }));
}

/** A flow behind an incident, as `pad incidents show` lists it. */
export interface IncidentFlow {
  roundId: number;
  direction: string;
  protocol: string;
  port: number | null;
  command: string | null;
  pid: number | null;
  remoteAddr: string;
  remotePort: number | null;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  state: string | null;
  dnsQuery: string | null;
}

/**
 * The busiest flows of an incident's flagged rounds that touch its ports or its peers, at most
 * `limit`: who talked to what, from which process, how much, and how it ended; and how many of
 * them ended each way. None when the rounds are pruned (or predate flows).
 */
export function incidentFlows(
  db: Database,
  incident: Pick<Incident, "id" | "ports" | "peers">,
  limit: number,
): { flows: IncidentFlow[]; states: Record<string, number> } {
  if (!hasTable(db, "flows")) return { flows: [], states: {} };
  const ports = incident.ports.filter((p) => p.port !== null).map((p) => `${p.protocol}/${p.port}`);
  const touching = "FROM flows f JOIN anomalies a ON a.round_id = f.round_id WHERE " +
    "a.incident_id = ? AND (f.protocol || '/' || f.port_id IN (SELECT value FROM json_each(?)) " +
    "OR f.remote_addr IN (SELECT value FROM json_each(?)))";
  const params = [incident.id, JSON.stringify(ports), JSON.stringify(incident.peers)] as const;
  const states = Object.fromEntries(
    prepared(
      db,
      `SELECT coalesce(f.state, 'answered') AS state, count(*) AS n ${touching} GROUP BY 1`,
    )
      .all(...params).map((r) => [String(r.state), Number(r.n)]),
  );
  // The report wants the endings alone (limit 0): no sort of the flows for nothing.
  const busiest = limit === 0 ? [] : prepared(
    db,
    `SELECT f.* ${touching} ORDER BY f.packets_in + f.packets_out DESC, f.round_id, f.id LIMIT ?`,
  ).all(...params, limit);
  const flows = busiest.map((f) => ({
    roundId: Number(f.round_id),
    direction: String(f.direction),
    protocol: String(f.protocol),
    port: numberOrNull(f.port_id),
    command: textOrNull(f.command),
    pid: numberOrNull(f.pid),
    remoteAddr: String(f.remote_addr),
    remotePort: numberOrNull(f.remote_port),
    packetsIn: Number(f.packets_in),
    packetsOut: Number(f.packets_out),
    bytesIn: Number(f.bytes_in),
    bytesOut: Number(f.bytes_out),
    state: textOrNull(f.state),
    dnsQuery: textOrNull(f.dns_query),
  }));
  return { flows, states };
}

/** Open incidents of every kind, 0 for a kind without any (for the metrics). */
export function openIncidentCounts(db: Database): { kind: string; open: number }[] {
  const open = new Map(
    db.prepare(
      "SELECT kind, count(*) AS n FROM incidents WHERE status IN ('open', 'acknowledged') " +
        "GROUP BY kind",
    ).all().map((r) => [String(r.kind), Number(r.n)]),
  );
  const kinds = [...new Set([...INCIDENT_KINDS, ...open.keys()])];
  return kinds.map((kind) => ({ kind, open: open.get(kind) ?? 0 }));
}

// ---- What was told, and to whom ----

/** An event of an incident to tell a target about. */
export interface Delivery {
  id: number;
  incidentId: number;
  event: "opened" | "resolved";
  target: string;
  attempts: number;
}

/** Records that `event` of the incident is to be told to each of `targets`. */
export function queueDeliveries(
  db: Database,
  incidentId: number,
  event: "opened" | "resolved",
  targets: readonly string[],
  now: number,
): void {
  const insert = db.prepare(
    "INSERT INTO incident_deliveries (incident_id, event, target, created) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT DO NOTHING",
  );
  transaction(db, () => {
    for (const target of targets) insert.run(incidentId, event, target, now);
  });
}

/**
 * Queues a 'resolved' event for every target told that an incident opened, once the incident
 * is no longer open (closed, acknowledged or accepted), whenever that happened.
 */
export function queueResolutions(db: Database, now: number): void {
  db.prepare(
    "INSERT INTO incident_deliveries (incident_id, event, target, created) " +
      "SELECT d.incident_id, 'resolved', d.target, ? FROM incident_deliveries d " +
      "JOIN incidents i ON i.id = d.incident_id WHERE d.event = 'opened' AND i.status <> 'open' " +
      "ON CONFLICT DO NOTHING",
  ).run(now);
}

/** Deliveries not made yet to any of `targets`, oldest first. */
export function pendingDeliveries(db: Database, targets: readonly string[]): Delivery[] {
  if (targets.length === 0) return [];
  return db.prepare(
    "SELECT id, incident_id, event, target, attempts FROM incident_deliveries " +
      `WHERE delivered IS NULL AND target IN (${targets.map(() => "?").join(", ")}) ` +
      "ORDER BY id",
  ).all(...targets).map((r) => ({
    id: Number(r.id),
    incidentId: Number(r.incident_id),
    event: r.event as "opened" | "resolved",
    target: String(r.target),
    attempts: Number(r.attempts),
  }));
}

/** Marks a delivery made, or failed with `error` (to be tried again on the next run). */
export function recordDelivery(db: Database, id: number, now: number, error?: string): void {
  if (error === undefined) {
    db.prepare(
      "UPDATE incident_deliveries SET delivered = ?, attempts = attempts + 1, error = NULL " +
        "WHERE id = ?",
    ).run(now, id);
  } else {
    db.prepare(
      "UPDATE incident_deliveries SET attempts = attempts + 1, error = ? WHERE id = ?",
    ).run(error, id);
  }
}

function incidentOf(row: Record<string, unknown>): Incident {
  return {
    id: Number(row.id),
    status: row.status as IncidentStatus,
    kind: String(row.kind),
    causeKey: String(row.cause_key),
    summary: String(row.summary),
    firstRoundId: numberOrNull(row.first_round_id),
    lastRoundId: numberOrNull(row.last_round_id),
    startTime: Number(row.start_time),
    endTime: Number(row.end_time),
    rounds: Number(row.rounds),
    peakScore: numberOrNull(row.peak_score),
    modelVersion: numberOrNull(row.model_version),
    ports: jsonList<IncidentPort>(row.ports),
    peers: jsonList<string>(row.peers),
    openedAt: Number(row.opened_at),
    closedAt: numberOrNull(row.closed_at),
    acknowledgedAt: numberOrNull(row.acknowledged_at),
    acceptedAt: numberOrNull(row.accepted_at),
  };
}
