/** Writes model-level round histories (synthetic or not) into a database as complete rounds. */
import type { RoundData } from "../../src/model/round_data.ts";
import { type Database, transaction } from "../../src/store/database.ts";
import { listenerMemory } from "../../src/store/rounds.ts";

/**
 * Stores each round with its ports and traffic, as collect would have; returns the database ids
 * in the same order. `listening` becomes a procfs socket state (LISTEN/UNCONN or ESTABLISHED),
 * `null` none, as with the listen probe.
 */
export function storeRoundHistory(db: Database, rounds: readonly RoundData[]): number[] {
  const round = db.prepare(
    "INSERT INTO rounds (start_time, end_time, status, probe, sweeps, capture_off, " +
      "dns_packets, dns_name_max, dns_name_mean, syn_ports_per_peer_in, syn_ports_per_peer_out) " +
      "VALUES (?, ?, 'complete', 'procfs', 11, ?, ?, ?, ?, ?, ?) " +
      "RETURNING id",
  );
  const port = db.prepare(
    "INSERT INTO ports (id, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING",
  );
  const occupied = db.prepare(
    "INSERT INTO rounds_ports (round_id, port_id, protocol, family, sweeps_seen, first_seen, " +
      "last_seen, socket_state, pid, command) VALUES (?, ?, ?, ?, 11, ?, ?, ?, ?, ?)",
  );
  const rememberListener = listenerMemory(db);
  const traffic = db.prepare(
    "INSERT INTO round_traffic (round_id, port_id, protocol, direction, packets, bytes, peers, " +
      "remote_ports) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  return transaction(db, () =>
    rounds.map((r) => {
      const id = Number(
        round.get(
          r.startTime,
          r.startTime + 55_000,
          r.captured ? null : "turned off with --no-capture",
          r.dns.queries,
          r.dns.maxNameLength,
          r.dns.meanNameLength,
          r.captured ? r.synSpread.in : null,
          r.captured ? r.synSpread.out : null,
        )!.id,
      );
      for (const o of r.occupied) {
        port.run(o.port, r.startTime);
        const state = o.listening === null
          ? null
          : o.listening
          ? (o.protocol === "tcp" ? "LISTEN" : "UNCONN")
          : "ESTABLISHED";
        occupied.run(
          id,
          o.port,
          o.protocol,
          o.family,
          r.startTime,
          r.startTime + 50_000,
          state,
          o.pid ?? null,
          o.command ?? null,
        );
        if (o.listening) rememberListener(o.protocol, o.port, r.startTime);
      }
      for (const t of r.traffic) {
        if (t.port !== null) port.run(t.port, r.startTime);
        traffic.run(
          id,
          t.port,
          t.protocol,
          t.direction,
          t.packets,
          t.bytes,
          t.peers,
          t.remotePorts,
        );
      }
      return id;
    }));
}
