/**
 * Writing rounds: a live round is created open, filled sweep by sweep and closed with its
 * traffic in one step; an imported round (or a test's, a benchmark's) is written whole.
 *
 * @module
 */
import {
  type ConnectionAttempts,
  type DnsSummary,
  type FlowRow,
  isEphemeral,
  type OccupiedPort,
  type PacketRow,
  type ProbeName,
  type Sweep,
  type TrafficRow,
} from "../round.ts";
import { afterCommit, type Database, insertRows, prepared, transaction } from "./database.ts";
import { splitTraffic } from "./traffic_in_flows.ts";

/** How a round starts. */
export interface NewRound {
  startTime: number;
  source: "live" | "import";
  sourceFile?: string;
  probe?: ProbeName;
  interface?: string;
  captureOff?: string;
  /** When an imported round was imported: it is kept --keep after that. */
  importedAt?: number;
}

/** Capture figures stored on a round when it closes. */
export interface CaptureFigures {
  received?: number;
  dropped?: number;
  ifDropped?: number;
  seen: number;
  malformed: number;
  /** DNS packets with a query name, and those names' longest and mean length. */
  dns?: DnsSummary;
  /** The round's connection attempts and who made the most; absent when not captured. */
  attempts?: ConnectionAttempts;
}

/** How a round ends. */
export interface RoundEnd {
  endTime: number;
  status: "complete" | "failed";
  error?: string;
  capture?: CaptureFigures;
  /** Set when capture stopped being possible mid-round. */
  captureOff?: string;
  traffic?: TrafficRow[];
  packets?: PacketRow[];
  /** The round's flows, and how many it saw past the limit it records. */
  flows?: { rows: FlowRow[]; over: number };
}

/** Whether the database holds any round. */
export function hasRounds(db: Database): boolean {
  return prepared(db, "SELECT 1 FROM rounds LIMIT 1").get() !== undefined;
}

/** Why a round was found open by the next collector. */
export const ABANDONED =
  "the collector stopped before the round ended (killed, or the host went down)";

/**
 * Marks live rounds still open as failed. Only a collector holding the collect lock calls it, so
 * any open live round belongs to a collector that is gone.
 */
export function failAbandonedRounds(db: Database): number {
  return Number(
    prepared(
      db,
      "UPDATE rounds SET status = 'failed', error = ? WHERE status = 'open' AND source = 'live'",
    ).run(ABANDONED).changes,
  );
}

/** Inserts an open round and returns its id. */
export function createRound(db: Database, round: NewRound): number {
  return Number(
    prepared(
      db,
      "INSERT INTO rounds (start_time, source, source_file, probe, interface, capture_off, " +
        "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    ).get(
      round.startTime,
      round.source,
      round.sourceFile ?? null,
      round.probe ?? null,
      round.interface ?? null,
      round.captureOff ?? null,
      round.importedAt ?? null,
    )!.id,
  );
}

/** Stores one sweep of a round in one transaction: each occupied port counted once more. */
export function storeSweep(db: Database, roundId: number, sweep: Sweep): void {
  const seenAt = sweep.startedMs + sweep.durationMs;
  transaction(db, () => {
    storeOccupied(db, roundId, sweep.occupied, { from: seenAt, to: seenAt, sweeps: 1 });
    const unknown = sweep.unknown.reduce((sum, u) => sum + u.ports, 0);
    prepared(db, "UPDATE rounds SET sweeps = sweeps + 1, ports_unknown = ? WHERE id = ?")
      .run(unknown, roundId);
  });
}

/** A round written whole, in one transaction: how it starts, what it held, how it ended. */
export interface WholeRound extends NewRound, Omit<RoundEnd, "status" | "endTime"> {
  /** `open` leaves it as a collector that is still running (or was killed) would. */
  status: RoundEnd["status"] | "open";
  /** Null for an open round. */
  endTime: number | null;
  /** Ports occupied in the round, each seen by all of its sweeps. */
  occupied?: OccupiedPort[];
  /** Sweeps the round made (default 1 when ports are given, else 0). */
  sweeps?: number;
  /** When the ports were first and last seen (default the round's start and end). */
  portsSeen?: { from: number; to: number };
}

/** Records that `roundId`'s capture covered only `coverage` (0–1) of its time. */
export function setCoverage(db: Database, roundId: number, coverage: number): void {
  prepared(db, "UPDATE rounds SET coverage = ? WHERE id = ?").run(coverage, roundId);
}

/**
 * Writes a whole round and returns its id: what `pad import` stores, and how tests and
 * benchmarks fill a database exactly as collect would have.
 */
export function storeRound(db: Database, round: WholeRound): number {
  return transaction(db, () => {
    const roundId = createRound(db, round);
    const sweeps = round.sweeps ?? (round.occupied ? 1 : 0);
    if (sweeps > 0) {
      const seen = round.portsSeen ??
        { from: round.startTime, to: round.endTime ?? round.startTime };
      storeOccupied(db, roundId, round.occupied ?? [], { ...seen, sweeps });
      prepared(db, "UPDATE rounds SET sweeps = ? WHERE id = ?").run(sweeps, roundId);
    }
    if (round.status !== "open") {
      finishRound(db, roundId, {
        ...round,
        status: round.status,
        endTime: round.endTime ?? round.startTime,
      });
    } else {
      // What an open round holds so far (tests of prune and inspect give it rows).
      const traffic = round.traffic ?? [];
      storeTraffic(db, roundId, traffic, traffic, round.packets ?? [], round.startTime);
    }
    return roundId;
  });
}

/**
 * Counts occupied ports of a round: a new row per port, protocol and family, or `sweeps` more
 * sweeps for one already seen (its details kept where the new sweep knows none). A listener
 * is remembered in `ports`.
 */
function storeOccupied(
  db: Database,
  roundId: number,
  occupied: readonly OccupiedPort[],
  seen: { from: number; to: number; sweeps: number },
): void {
  const upsert = prepared(
    db,
    "INSERT INTO rounds_ports (round_id, port_id, protocol, family, sweeps_seen, first_seen, " +
      "last_seen, address, socket_state, pid, command, uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) " +
      "ON CONFLICT (round_id, port_id, protocol, family) DO UPDATE SET " +
      "sweeps_seen = sweeps_seen + excluded.sweeps_seen, last_seen = excluded.last_seen, " +
      "address = coalesce(excluded.address, address), " +
      "socket_state = coalesce(excluded.socket_state, socket_state), " +
      "pid = coalesce(excluded.pid, pid), command = coalesce(excluded.command, command), " +
      "uid = coalesce(excluded.uid, uid)",
  );
  const rememberListener = listenerMemory(db);
  addPorts(db, occupied.map((o) => o.port), seen.from);
  for (const o of occupied) {
    if (o.listening === true) rememberListener(o.protocol, o.port, seen.from);
    upsert.run(
      roundId,
      o.port,
      o.protocol,
      o.family,
      seen.sweeps,
      seen.from,
      seen.to,
      o.address ?? null,
      o.socketState ?? null,
      o.pid ?? null,
      o.command ?? null,
      o.uid ?? null,
    );
  }
}

/**
 * A function recording that `port` had a `protocol` listener at `seenAt`, unless one was seen
 * earlier: the ports' memory of their first listener, kept when prune removes the rounds (the
 * new-listener rule reads it).
 */
function listenerMemory(
  db: Database,
): (protocol: "tcp" | "udp", port: number, seenAt: number) => void {
  const update = (column: string) =>
    prepared(db, `UPDATE ports SET ${column} = ? WHERE id = ? AND ${column} IS NULL`);
  const statements = {
    tcp: update("tcp_listener_first_seen"),
    udp: update("udp_listener_first_seen"),
  };
  return (protocol, port, seenAt) => statements[protocol].run(seenAt, port);
}

/**
 * Closes a round: its traffic counts, packet rows, capture figures and status in one
 * transaction, so a round is complete only when everything it holds is committed.
 */
export function finishRound(db: Database, roundId: number, end: RoundEnd): void {
  transaction(db, () => {
    const packets = end.packets ?? [];
    const traffic = end.traffic ?? [];
    const { stored, carriers } = splitTraffic(traffic, end.flows?.rows ?? []);
    storeTraffic(db, roundId, traffic, stored, packets, end.endTime, end.flows?.rows);
    if (end.flows) storeFlows(db, roundId, end.flows, carriers);
    const capture = end.capture;
    prepared(
      db,
      "UPDATE rounds SET end_time = ?, status = ?, error = ?, " +
        "capture_off = coalesce(?, capture_off), pcap_received = ?, pcap_dropped = ?, " +
        "pcap_if_dropped = ?, packets_seen = ?, packets_stored = ?, packets_malformed = ?, " +
        "dns_packets = ?, dns_name_max = ?, dns_name_mean = ?, dns_server = ? WHERE id = ?",
    ).run(
      end.endTime,
      end.status,
      end.error ?? null,
      end.captureOff ?? null,
      capture?.received ?? null,
      capture?.dropped ?? null,
      capture?.ifDropped ?? null,
      capture?.seen ?? 0,
      packets.length,
      capture?.malformed ?? 0,
      capture?.dns?.queries ?? 0,
      capture?.dns?.maxNameLength ?? 0,
      capture?.dns?.meanNameLength ?? 0,
      capture?.dns?.server ?? null,
      roundId,
    );
    if (capture?.attempts) storeAttempts(db, roundId, capture.attempts);
  });
}

/**
 * A round's traffic counts (`stored`: those its flows do not carry) and packet rows, and the
 * ports they and its flows name.
 */
function storeTraffic(
  db: Database,
  roundId: number,
  traffic: readonly TrafficRow[],
  stored: readonly TrafficRow[],
  packets: readonly PacketRow[],
  seenAt: number,
  flows: readonly FlowRow[] = [],
): void {
  addPorts(
    db,
    [traffic, packets, flows].flatMap((rows) => rows.map((r) => r.port)).filter((p) => p !== null),
    seenAt,
  );
  // A port that accepted a connection listens, even if no sweep saw it (outside the ephemeral
  // range, where clients accept the data connections of active FTP and the like).
  const rememberListener = listenerMemory(db);
  for (const t of traffic) {
    if (t.port !== null && (t.accepts ?? 0) > 0 && !isEphemeral(t.port)) {
      rememberListener("tcp", t.port, seenAt);
    }
  }
  insertRows(
    db,
    "port_traffic",
    [
      "round_id",
      "id",
      "port_id",
      "protocol",
      "direction",
      "packets",
      "bytes",
      "peers",
      "remote_ports",
      "accepts",
    ],
    stored.map((t, i) => [
      roundId,
      i + 1,
      t.port,
      t.protocol,
      t.direction,
      t.packets,
      t.bytes,
      t.peers,
      t.remotePorts,
      t.accepts ?? null,
    ]),
  );
  insertRows(
    db,
    "packets",
    [
      "round_id",
      "timestamp",
      "protocols",
      "qry_name",
      "resp_name",
      "port_id",
      "remote_port",
      "direction",
      "family",
      "remote_addr",
      "length",
      "payload",
    ],
    packets.map((p) => [
      roundId,
      p.timestamp,
      p.protocols,
      p.qryName,
      p.respName,
      p.port,
      p.remotePort,
      p.direction,
      p.family,
      p.remoteAddr,
      p.length,
      p.payload,
    ]),
  );
}

/**
 * The round's flows, each with the process of its local port where a sweep of the round saw
 * it (collect's sweeps are stored before the round closes; an import knows no processes).
 */
function storeFlows(
  db: Database,
  roundId: number,
  flows: { rows: FlowRow[]; over: number },
  carriers: ReadonlySet<number>,
) {
  insertRows(
    db,
    "flows",
    [
      "round_id",
      "id",
      "protocol",
      "family",
      "local_addr",
      "port_id",
      "remote_addr",
      "remote_port",
      "direction",
      "first_seen",
      "last_seen",
      "packets_in",
      "packets_out",
      "bytes_in",
      "bytes_out",
      "tcp_flags",
      "state",
      "dns_query",
      "dns_answer",
      "carries_traffic",
    ],
    flows.rows.map((f, i) => [
      roundId,
      i + 1,
      f.protocol,
      f.family,
      f.localAddr,
      f.port,
      f.remoteAddr,
      f.remotePort,
      f.direction,
      Math.floor(f.firstSeen),
      Math.floor(f.lastSeen),
      f.packetsIn,
      f.packetsOut,
      f.bytesIn,
      f.bytesOut,
      f.tcpFlags,
      f.state,
      f.dnsQuery,
      f.dnsAnswer,
      carriers.has(i) ? 1 : null,
    ]),
  );
  prepared(
    db,
    "UPDATE flows SET pid = o.pid, command = o.command FROM (SELECT port_id, protocol, " +
      "max(pid) AS pid, command FROM rounds_ports WHERE round_id = ? AND " +
      "pid IS NOT NULL GROUP BY port_id, protocol) AS o WHERE flows.round_id = ? AND " +
      "flows.port_id = o.port_id AND flows.protocol = o.protocol",
  ).run(roundId, roundId);
  prepared(db, "UPDATE rounds SET flows_over = ? WHERE id = ?").run(flows.over, roundId);
}

/** The round's connection attempts, one row of `round_connections`. */
function storeAttempts(db: Database, roundId: number, a: ConnectionAttempts): void {
  prepared(
    db,
    "INSERT INTO round_connections (round_id, ports_per_peer_in, peer_in, ports_per_peer_out, " +
      "peer_out, from_port_out, peers_in, unanswered_in, peers_out, unanswered_out, " +
      "peers_per_remote_port_out, remote_port_out, attempts_per_peer_port_in, attempts_peer_in, " +
      "attempts_port_in, attempts_per_peer_port_out, attempts_peer_out, attempts_port_out) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  ).run(
    roundId,
    a.portsPerPeerIn,
    a.peerIn,
    a.portsPerPeerOut,
    a.peerOut,
    a.fromPortOut,
    a.peersIn,
    a.unansweredIn,
    a.peersOut,
    a.unansweredOut,
    a.peersPerRemotePortOut,
    a.remotePortOut,
    a.attemptsPerPeerPortIn,
    a.attemptsPeerIn,
    a.attemptsPortIn,
    a.attemptsPerPeerPortOut,
    a.attemptsPeerOut,
    a.attemptsPortOut,
  );
}

/**
 * Records port numbers in `ports` the first time pad sees them: a round's ports in a few
 * statements (one a port was most of an office LAN import's statements).
 */
function addPorts(db: Database, ports: number[], seenAt: number): void {
  let known = storedPorts.get(db);
  if (!known) storedPorts.set(db, known = new Set());
  const added = [...new Set(ports)].filter((port) => !known.has(port));
  insertRows(
    db,
    "ports",
    ["id", "first_seen"],
    added.map((port) => [port, seenAt]),
    "ON CONFLICT DO NOTHING",
  );
  afterCommit(db, () => added.forEach((port) => known.add(port)));
}

/**
 * Ports each connection knows `ports` has, committed: its rows are never deleted, so a round
 * need not write them again (an office LAN's import wrote 110,000 ports that were there already).
 */
const storedPorts = new WeakMap<Database, Set<number>>();
