/** Reading complete rounds back as the model sees them. */
import {
  type ConnectionAttempts,
  type Family,
  isListeningState,
  NO_ATTEMPTS,
  type OccupiedPort,
  type Protocol,
  type RoundData,
  type TrafficProtocol,
} from "../round.ts";
import type { Database } from "./database.ts";
import { numberOrNull, textOrNull } from "./row_values.ts";

/** A complete round's id and start, in time order. */
export interface RoundRef {
  id: number;
  startTime: number;
}

/** Complete rounds with no score yet (all complete rounds with `rescore`), oldest first. */
export function roundsToScore(db: Database, rescore: boolean): RoundRef[] {
  const unscored = rescore ? "" : " AND id NOT IN (SELECT round_id FROM round_scores)";
  return db.prepare(
    `SELECT id, start_time FROM rounds WHERE status = 'complete'${unscored} ORDER BY start_time, id`,
  ).all().map((r) => ({ id: Number(r.id), startTime: Number(r.start_time) }));
}

/**
 * Scored rounds whose hour was never learned from (a detect that died between storing the scores
 * and saving the model), oldest first.
 */
export function unlearnedRounds(db: Database): RoundRef[] {
  return db.prepare(
    "SELECT r.id, r.start_time FROM rounds r JOIN round_scores s ON s.round_id = r.id " +
      "WHERE s.learned = 0 ORDER BY r.start_time, r.id",
  ).all().map((r) => ({ id: Number(r.id), startTime: Number(r.start_time) }));
}

/** The verdicts and scores of rounds `ids`, in that order (rounds without a verdict left out). */
export function verdictsOf(
  db: Database,
  ids: readonly number[],
): { verdict: string; score: number | null }[] {
  const row = db.prepare("SELECT verdict, score FROM round_scores WHERE round_id = ?");
  return ids.flatMap((id) => {
    const r = row.get(id);
    return r ? [{ verdict: String(r.verdict), score: numberOrNull(r.score) }] : [];
  });
}

/** How many complete rounds started before `startTime`: the history a round comes after. */
export function roundsBefore(db: Database, startTime: number): number {
  return Number(
    db.prepare(
      "SELECT count(*) AS n FROM rounds WHERE status = 'complete' AND start_time < ?",
    ).get(startTime)!.n,
  );
}

/** Whether a complete round that started before `startTime` swept the ports. */
export function sweptBefore(db: Database, startTime: number): boolean {
  return db.prepare(
    "SELECT 1 FROM rounds WHERE status = 'complete' AND sweeps > 0 AND start_time < ? LIMIT 1",
  ).get(startTime) !== undefined;
}

/**
 * Ids of the `count` complete rounds that started just before `startTime`, oldest first: the
 * context a window needs in front of the round it scores.
 */
export function precedingRoundIds(db: Database, startTime: number, count: number): number[] {
  if (count <= 0) return [];
  return db.prepare(
    "SELECT id FROM rounds WHERE status = 'complete' AND start_time < ? " +
      "ORDER BY start_time DESC, id DESC LIMIT ?",
  ).all(startTime, count).map((r) => Number(r.id)).reverse();
}

/**
 * The rounds of `refs`, loaded, and each one's context: the `count` complete rounds before it,
 * oldest first. Every round is loaded once however many contexts share it; a round removed
 * meanwhile (a prune running) is left out.
 */
export function loadWithContext(
  db: Database,
  refs: readonly RoundRef[],
  count: number,
): { rounds: RoundData[]; contextOf: (round: RoundData) => RoundData[] } {
  const contextIds = new Map(refs.map((r) => [r.id, precedingRoundIds(db, r.startTime, count)]));
  const needed = new Set([...refs.map((r) => r.id), ...[...contextIds.values()].flat()]);
  const byId = new Map(loadRounds(db, [...needed]).map((r) => [r.id, r]));
  const loaded = (id: number) => byId.get(id);
  return {
    rounds: refs.map((r) => loaded(r.id)).filter((r) => r !== undefined),
    contextOf: (round) =>
      (contextIds.get(round.id) ?? []).map(loaded).filter((r) => r !== undefined),
  };
}

/** The rounds of {@linkcode precedingRoundIds}, loaded. */
export function precedingRounds(db: Database, startTime: number, count: number): RoundData[] {
  return loadRounds(db, precedingRoundIds(db, startTime, count));
}

/**
 * Complete rounds judged normal (or learned from during warm-up) that started in
 * `[from, to)`, oldest first: what the model may learn from. Flagged rounds never are, unless
 * a person accepted their incident as legitimate.
 */
export function normalRounds(db: Database, from: number, to: number): RoundRef[] {
  return db.prepare(
    "SELECT r.id, r.start_time FROM rounds r JOIN round_scores s ON s.round_id = r.id " +
      "WHERE r.status = 'complete' AND r.start_time >= ? AND r.start_time < ? AND " +
      "(s.verdict IN ('warmup', 'normal') OR EXISTS (SELECT 1 FROM anomalies a JOIN incidents i " +
      "ON i.id = a.incident_id WHERE a.round_id = r.id AND i.status = 'accepted')) " +
      "ORDER BY r.start_time, r.id",
  ).all(from, to).map((r) => ({ id: Number(r.id), startTime: Number(r.start_time) }));
}

/** The rounds with these ids as {@linkcode RoundData}, in the order given. */
export function loadRounds(db: Database, ids: readonly number[]): RoundData[] {
  if (ids.length === 0) return [];
  const byId = new Map<number, RoundData>();
  const round = db.prepare(
    "SELECT id, start_time, end_time, capture_off, dns_packets, dns_name_max, dns_name_mean, " +
      "dns_server, coverage FROM rounds WHERE id = ?",
  );
  const connections = db.prepare("SELECT * FROM round_connections WHERE round_id = ?");
  const ports = db.prepare(
    "SELECT port_id, protocol, family, socket_state, pid, command FROM rounds_ports " +
      "WHERE round_id = ?",
  );
  const traffic = db.prepare(
    "SELECT port_id, protocol, direction, packets, bytes, peers, remote_ports, accepts " +
      "FROM round_traffic WHERE round_id = ?",
  );
  for (const id of ids) {
    const r = round.get(id);
    if (!r) continue;
    byId.set(id, {
      id,
      startTime: Number(r.start_time),
      ...(r.end_time === null ? {} : { endTime: Number(r.end_time) }),
      ...(r.coverage === null ? {} : { coverage: Number(r.coverage) }),
      captured: r.capture_off === null,
      dns: {
        queries: Number(r.dns_packets),
        maxNameLength: Number(r.dns_name_max),
        meanNameLength: Number(r.dns_name_mean),
        server: textOrNull(r.dns_server),
      },
      // No row: not measured (capture off, or stored before migration 0005).
      attempts: attemptsOf(connections.get(id)),
      occupied: ports.all(id).map((p) => ({
        port: Number(p.port_id),
        protocol: p.protocol as Protocol,
        family: Number(p.family) as Family,
        listening: p.socket_state === null
          ? null
          : isListeningState(p.protocol as Protocol, String(p.socket_state)),
        pid: numberOrNull(p.pid),
        command: textOrNull(p.command),
      })),
      traffic: traffic.all(id).map((t) => ({
        port: numberOrNull(t.port_id),
        protocol: t.protocol as TrafficProtocol,
        direction: t.direction as "in" | "out",
        packets: Number(t.packets),
        bytes: Number(t.bytes),
        peers: Number(t.peers),
        remotePorts: Number(t.remote_ports),
        ...(t.accepts === null ? {} : { accepts: Number(t.accepts) }),
      })),
    });
  }
  return ids.map((id) => byId.get(id)).filter((r) => r !== undefined);
}

/** A `round_connections` row as {@linkcode ConnectionAttempts}; none: nothing measured. */
function attemptsOf(row: Record<string, unknown> | undefined): ConnectionAttempts {
  if (!row) return NO_ATTEMPTS;
  return {
    portsPerPeerIn: Number(row.ports_per_peer_in),
    peerIn: textOrNull(row.peer_in),
    portsPerPeerOut: Number(row.ports_per_peer_out),
    peerOut: textOrNull(row.peer_out),
    fromPortOut: numberOrNull(row.from_port_out),
    peersIn: Number(row.peers_in),
    unansweredIn: Number(row.unanswered_in),
    peersOut: Number(row.peers_out),
    unansweredOut: Number(row.unanswered_out),
    peersPerRemotePortOut: Number(row.peers_per_remote_port_out),
    remotePortOut: numberOrNull(row.remote_port_out),
    attemptsPerPeerPortIn: Number(row.attempts_per_peer_port_in),
    attemptsPeerIn: textOrNull(row.attempts_peer_in),
    attemptsPortIn: numberOrNull(row.attempts_port_in),
    attemptsPerPeerPortOut: Number(row.attempts_per_peer_port_out),
    attemptsPeerOut: textOrNull(row.attempts_peer_out),
    attemptsPortOut: numberOrNull(row.attempts_port_out),
  };
}

/**
 * Every `(protocol, port)` that had a listening socket (procfs: TCP LISTEN, UDP UNCONN) before
 * `startTime`, as the round data's occupied ports: the listeners the host has had. Read from the
 * ports' memory of their first listener, which prune does not remove.
 */
export function listenersBefore(db: Database, startTime: number): OccupiedPort[] {
  return db.prepare(
    "SELECT id, 'tcp' AS protocol FROM ports WHERE tcp_listener_first_seen < ? " +
      "UNION ALL SELECT id, 'udp' FROM ports WHERE udp_listener_first_seen < ?",
  ).all(startTime, startTime).map((p) => ({
    port: Number(p.id),
    protocol: p.protocol as Protocol,
    family: 4,
    listening: true,
  }));
}
