/** Writes rounds with port and packet rows straight into a test database. */
import type { Database } from "../../src/store/database.ts";

/** How to fill one round. */
export interface SeedRound {
  start: number;
  status?: "open" | "complete" | "failed";
  ports?: number[];
  packets?: number;
  error?: string | null;
}

/** Inserts the rounds in one transaction; returns their ids in order. */
export function seedRounds(db: Database, rounds: SeedRound[]): number[] {
  const insertRound = db.prepare(
    "INSERT INTO rounds (start_time, end_time, status, probe, sweeps, error) " +
      "VALUES (?, ?, ?, 'listen', 1, ?) RETURNING id",
  );
  const insertPort = db.prepare(
    "INSERT INTO ports (id, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING",
  );
  const insertObservation = db.prepare(
    "INSERT INTO rounds_ports (round_id, port_id, protocol, family, first_seen, last_seen) " +
      "VALUES (?, ?, 'tcp', 4, ?, ?)",
  );
  const insertPacket = db.prepare(
    "INSERT INTO packets (round_id, timestamp, protocols, port_id, remote_port, direction, " +
      "family, remote_addr, length, payload) VALUES (?, ?, 'eth:ipv4:tcp', ?, 443, 'out', 4, " +
      "'192.0.2.7', 60, ?)",
  );
  const insertTraffic = db.prepare(
    "INSERT INTO round_traffic (round_id, port_id, protocol, direction, packets, bytes, peers, " +
      "remote_ports) VALUES (?, ?, 'tcp', 'out', ?, ?, 1, 1)",
  );
  const ids: number[] = [];
  db.exec("BEGIN IMMEDIATE");
  for (const round of rounds) {
    const status = round.status ?? "complete";
    const end = status === "open" ? null : round.start + 55_000;
    const id = Number(insertRound.get(round.start, end, status, round.error ?? null)!.id);
    ids.push(id);
    for (const port of round.ports ?? []) {
      insertPort.run(port, round.start);
      insertObservation.run(id, port, round.start, round.start + 50_000);
    }
    const local = round.ports?.[0] ?? 40_000;
    insertPort.run(local, round.start);
    if (round.packets) insertTraffic.run(id, local, round.packets, round.packets * 60);
    for (let i = 0; i < (round.packets ?? 0); i++) {
      insertPacket.run(id, round.start + i, local, new Uint8Array([i & 0xff, 0x2c, 0x22, 0x0a]));
    }
  }
  db.exec("COMMIT");
  return ids;
}

/** Row count of a table. */
export function count(db: Database, table: string, where = "1"): number {
  return Number(db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get()!.n);
}
