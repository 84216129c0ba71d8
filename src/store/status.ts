/**
 * What a database says about the host now: the newest rounds, scores, anomalies and model. The
 * Prometheus metrics are made of these. A round stamped after any time a round can hold (stored
 * by an older pad from a damaged capture) is never the newest.
 *
 * @module
 */
import { LATEST_TIME } from "../round.ts";
import type { Database } from "./database.ts";
import { openIncidentCounts } from "./incidents.ts";
import { numberOrNull, textOrNull } from "./row_values.ts";

/** Ports occupied in a round, by protocol and family. */
export interface OccupiedCount {
  protocol: "tcp" | "udp";
  family: 4 | 6;
  count: number;
}

/** The newest complete round. */
export interface LastRound {
  id: number;
  endTime: number | null;
  /** Null when ports were not swept. */
  probe: string | null;
  /** Why capture was off; null when it was on. */
  captureOff: string | null;
  packetsSeen: number;
  pcapDropped: number | null;
  pcapIfDropped: number | null;
  /** All four protocol/family counts, zeros included. */
  occupied: OccupiedCount[];
}

/** The newest scored round. */
export interface LastScore {
  startTime: number;
  score: number | null;
  threshold: number | null;
}

/** What {@linkcode readStatus} returns; parts a database does not have yet are null. */
export interface StoreStatus {
  /**
   * The newest round's id (0 without rounds): a counter that prune's deletions of the oldest
   * rows never lower, unlike `count(*)`.
   */
  roundsTotal: number;
  lastRound: LastRound | null;
  /** Null where the database has no scores table yet. */
  lastScore: LastScore | null | undefined;
  /** The newest anomaly's id; undefined without the table. */
  anomaliesTotal: number | undefined;
  /** The newest model version; null before the first, undefined without the table. */
  model: { version: number; created: number } | null | undefined;
  /** Incidents not closed or accepted, by kind; undefined without the table. */
  openIncidents: { kind: string; open: number }[] | undefined;
  /** The newest incident's id (a counter); undefined without the table. */
  incidentsTotal: number | undefined;
}

/** Reads the status of `db`, opened read-only or not; writes nothing. */
export function readStatus(db: Database): StoreStatus {
  const tables = new Set(
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) =>
      String(r.name)
    ),
  );
  const last = db.prepare(
    "SELECT id, end_time, probe, capture_off, packets_seen, pcap_dropped, pcap_if_dropped " +
      "FROM rounds WHERE status = 'complete' AND start_time <= ? ORDER BY start_time DESC LIMIT 1",
  ).get(LATEST_TIME);
  const status: StoreStatus = {
    roundsTotal: Number(db.prepare("SELECT coalesce(max(id), 0) AS n FROM rounds").get()!.n),
    lastRound: last
      ? {
        id: Number(last.id),
        endTime: numberOrNull(last.end_time),
        probe: textOrNull(last.probe),
        captureOff: textOrNull(last.capture_off),
        packetsSeen: Number(last.packets_seen),
        pcapDropped: numberOrNull(last.pcap_dropped),
        pcapIfDropped: numberOrNull(last.pcap_if_dropped),
        occupied: occupiedCounts(db, Number(last.id)),
      }
      : null,
    lastScore: undefined,
    anomaliesTotal: undefined,
    model: undefined,
    openIncidents: undefined,
    incidentsTotal: undefined,
  };
  if (tables.has("round_scores")) {
    const scored = db.prepare(
      "SELECT r.start_time, s.score, s.threshold FROM rounds r " +
        "JOIN round_scores s ON s.round_id = r.id WHERE r.start_time <= ? " +
        "ORDER BY r.start_time DESC LIMIT 1",
    ).get(LATEST_TIME);
    status.lastScore = scored
      ? {
        startTime: Number(scored.start_time),
        score: numberOrNull(scored.score),
        threshold: numberOrNull(scored.threshold),
      }
      : null;
  }
  if (tables.has("anomalies")) {
    status.anomaliesTotal = Number(
      db.prepare("SELECT coalesce(max(id), 0) AS n FROM anomalies").get()!.n,
    );
  }
  if (tables.has("incidents")) {
    status.openIncidents = openIncidentCounts(db);
    status.incidentsTotal = Number(
      db.prepare("SELECT coalesce(max(id), 0) AS n FROM incidents").get()!.n,
    );
  }
  if (tables.has("models")) {
    const model = db.prepare("SELECT id, created FROM models ORDER BY id DESC LIMIT 1").get();
    status.model = model ? { version: Number(model.id), created: Number(model.created) } : null;
  }
  return status;
}

/** The four protocol/family counts of a round, zeros included. */
function occupiedCounts(db: Database, roundId: number): OccupiedCount[] {
  const counts = new Map(
    db.prepare(
      "SELECT protocol, family, count(*) AS n FROM rounds_ports WHERE round_id = ? " +
        "GROUP BY protocol, family",
    ).all(roundId).map((r) => [`${r.protocol}/${r.family}`, Number(r.n)]),
  );
  return (["tcp", "udp"] as const).flatMap((protocol) =>
    ([4, 6] as const).map((family) => ({
      protocol,
      family,
      count: counts.get(`${protocol}/${family}`) ?? 0,
    }))
  );
}

/** What `pad status` tells besides {@linkcode readStatus}: how collect and detect are doing. */
export interface Health {
  /** The newest round collect made (any status), or null where collect never ran. */
  lastLive: {
    id: number;
    startTime: number;
    endTime: number | null;
    status: string;
    probe: string | null;
    interface: string | null;
    captureOff: string | null;
    error: string | null;
  } | null;
  /** Complete rounds, live and imported: the history the model warms up on. */
  completeRounds: number;
  /** When detect last stored a verdict; null before the first. */
  lastDetect: number | null;
  /** The newest model's threshold; null while not calibrated or without a model. */
  threshold: number | null;
}

/** Reads {@linkcode Health}; writes nothing. */
export function readHealth(db: Database): Health {
  const live = db.prepare(
    "SELECT id, start_time, end_time, status, probe, interface, capture_off, error FROM rounds " +
      "WHERE source = 'live' AND start_time <= ? ORDER BY start_time DESC LIMIT 1",
  ).get(LATEST_TIME);
  const model = db.prepare("SELECT threshold FROM models ORDER BY id DESC LIMIT 1").get();
  return {
    lastLive: live
      ? {
        id: Number(live.id),
        startTime: Number(live.start_time),
        endTime: numberOrNull(live.end_time),
        status: String(live.status),
        probe: textOrNull(live.probe),
        interface: textOrNull(live.interface),
        captureOff: textOrNull(live.capture_off),
        error: textOrNull(live.error),
      }
      : null,
    completeRounds: Number(
      db.prepare("SELECT count(*) AS n FROM rounds WHERE status = 'complete'").get()!.n,
    ),
    lastDetect: numberOrNull(db.prepare("SELECT max(scored_at) AS t FROM round_scores").get()!.t),
    threshold: numberOrNull(model?.threshold),
  };
}
