/** Writes rounds with port and packet rows into a test database, through the store's writer. */
import type { PacketRow } from "../../src/round.ts";
import type { Database } from "../../src/store/database.ts";
import { transaction } from "../../src/store/database.ts";
import { storeRound } from "../../src/store/rounds.ts";

/** How to fill one round. */
export interface SeedRound {
  start: number;
  status?: "open" | "complete" | "failed";
  /** TCP/IPv4 ports seen occupied (state unknown, as the listen probe sees them). */
  ports?: number[];
  /** Outbound TCP packets of the round's first port (or 40000), each stored as a row. */
  packets?: number;
  error?: string | null;
}

/** Inserts the rounds in one transaction; returns their ids in order. */
export function seedRounds(db: Database, rounds: SeedRound[]): number[] {
  return transaction(db, () =>
    rounds.map((round) => {
      const status = round.status ?? "complete";
      const local = round.ports?.[0] ?? 40_000;
      const packets = round.packets ?? 0;
      const rows = Array.from({ length: packets }, (_, i): PacketRow => ({
        timestamp: round.start + i,
        protocols: "eth:ipv4:tcp",
        qryName: null,
        respName: null,
        port: local,
        remotePort: 443,
        direction: "out",
        family: 4,
        remoteAddr: "192.0.2.7",
        length: 60,
        payload: new Uint8Array([i & 0xff, 0x2c, 0x22, 0x0a]),
      }));
      return storeRound(db, {
        startTime: round.start,
        endTime: status === "open" ? null : round.start + 55_000,
        status,
        source: "live",
        probe: "listen",
        sweeps: 1,
        portsSeen: { from: round.start, to: round.start + 50_000 },
        occupied: (round.ports ?? []).map((port) => ({
          port,
          protocol: "tcp",
          family: 4,
          listening: null,
        })),
        error: round.error ?? undefined,
        capture: { seen: packets, malformed: 0 },
        traffic: packets > 0
          ? [{
            port: local,
            protocol: "tcp",
            direction: "out",
            packets,
            bytes: packets * 60,
            peers: 1,
            remotePorts: 1,
          }]
          : [],
        packets: rows,
      });
    }));
}

/** Row count of a table. */
export function count(db: Database, table: string, where = "1"): number {
  return Number(db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get()!.n);
}
