import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { listenerKey, newListeners } from "../src/detect/new_listeners.ts";
import { NO_ATTEMPTS, type OccupiedPort, type RoundData } from "../src/round.ts";
import { openDatabase } from "../src/store/database.ts";
import { listenersBefore } from "../src/store/history.ts";
import { MIGRATIONS } from "../src/store/migrations.ts";
import { runPrune } from "../src/commands/prune.ts";
import { BufferOutput } from "../src/output.ts";
import { tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory } from "../fixtures/synthetic.ts";

function port(
  port: number,
  protocol: "tcp" | "udp",
  listening: boolean | null,
  command?: string,
): OccupiedPort {
  return { port, protocol, family: 4, listening, pid: command ? 4242 : null, command };
}

function round(id: number, occupied: OccupiedPort[]): RoundData {
  return {
    id,
    startTime: id * 60_000,
    occupied,
    traffic: [],
    dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 },
    attempts: NO_ATTEMPTS,
    captured: true,
  };
}

Deno.test("listenerKey follows TCP listeners and UDP services, not clients or unknown states", () => {
  assert.equal(listenerKey(port(22, "tcp", true)), "tcp/22");
  assert.equal(listenerKey(port(45_000, "tcp", true)), "tcp/45000");
  assert.equal(listenerKey(port(53, "udp", true)), "udp/53");
  // An unconnected UDP socket in the ephemeral range is a client's (a DNS lookup), not a service.
  assert.equal(listenerKey(port(45_000, "udp", true)), null);
  assert.equal(listenerKey(port(61_000, "udp", true)), "udp/61000");
  assert.equal(listenerKey(port(22, "tcp", false)), null); // an established connection
  assert.equal(listenerKey(port(22, "tcp", null)), null); // the listen probe cannot tell
});

const NONE = { swept: [], accepting: [] };

Deno.test("newListeners reports each new listener once, in the first round it appears", () => {
  const known = new Set(["tcp/22"]);
  const ssh = port(22, "tcp", true, "sshd");
  assert.deepEqual(newListeners(round(1, [ssh, port(50_001, "tcp", false)]), known), NONE);
  const fresh = newListeners(round(2, [ssh, port(4444, "tcp", true, "ncat")]), known);
  assert.deepEqual(fresh.swept, [{
    port: 4444,
    protocol: "tcp",
    error: 1,
    pid: 4242,
    command: "ncat",
  }]);
  assert.deepEqual(newListeners(round(3, [ssh, port(4444, "tcp", true, "ncat")]), known), NONE);
  // Both families of one port are one listener.
  const both = [port(8080, "tcp", true), { ...port(8080, "tcp", true), family: 6 as const }];
  assert.equal(newListeners(round(4, both), known).swept.length, 1);
  assert.ok(known.has("tcp/8080"));
});

Deno.test("a port that accepted a connection is a listener no sweep saw; a client's port is not", () => {
  const known = new Set(["tcp/22"]);
  const accepted = (port: number, accepts: number): RoundData => ({
    ...round(1, []),
    traffic: [{
      port,
      protocol: "tcp",
      direction: "out",
      packets: 3,
      bytes: 180,
      peers: 1,
      remotePorts: 1,
      accepts,
    }],
  });
  assert.deepEqual(newListeners(accepted(4455, 1), known).accepting, [{
    port: 4455,
    protocol: "tcp",
    error: 1,
    pid: undefined,
    command: undefined,
  }]);
  assert.deepEqual(newListeners(accepted(4455, 2), known), NONE, "reported once");
  assert.deepEqual(newListeners(accepted(4456, 0), known), NONE, "sent data, accepted nothing");
  // Active FTP: a client accepts the server's data connection on an ephemeral port.
  assert.deepEqual(newListeners(accepted(40_123, 1), known), NONE);
});

Deno.test("listenersBefore reads the listeners of stored rounds before a time, nothing else", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const rounds = generateHistory({ rounds: 5, seed: 3 });
  rounds[3] = { ...rounds[3]!, occupied: [...rounds[3]!.occupied, port(4444, "tcp", true)] };
  storeRoundHistory(db, rounds);
  const before = (i: number) =>
    new Set(listenersBefore(db, rounds[i]!.startTime).map(listenerKey).filter((k) => k !== null));
  const steady = new Set(rounds[0]!.occupied.map(listenerKey).filter((k) => k !== null));
  assert.ok(steady.size > 0);
  assert.deepEqual(before(1), steady);
  assert.equal(before(3).has("tcp/4444"), false);
  assert.equal(before(4).has("tcp/4444"), true);
});

Deno.test("the listeners' memory outlives prune: a service back after two weeks is not new", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  using db = openDatabase(path);
  const rounds = generateHistory({ rounds: 5, seed: 3 });
  rounds[2] = { ...rounds[2]!, occupied: [...rounds[2]!.occupied, port(4444, "tcp", true)] };
  storeRoundHistory(db, rounds);
  const later = rounds[4]!.startTime + 14 * 86_400_000;
  const pruned = runPrune(
    { db: path, keepMs: 7 * 86_400_000, keepPacketsMs: 7 * 86_400_000, dryRun: false, now: later },
    new BufferOutput(),
  );
  assert.equal(pruned.rounds, 5);
  assert.equal(Number(db.prepare("SELECT count(*) AS n FROM rounds_ports").get()!.n), 0);
  const known = new Set(listenersBefore(db, later).map(listenerKey).filter((k) => k !== null));
  assert.ok(known.has("tcp/4444"));
  assert.deepEqual(newListeners(round(99, [port(4444, "tcp", true)]), known), NONE);
});

Deno.test("migration 0006 fills the listeners' memory from the rounds already stored", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using old = new DatabaseSync(path);
    for (const m of MIGRATIONS.filter((m) => m.version <= 5)) old.exec(m.sql);
    old.exec("PRAGMA user_version = 5");
    old.exec(
      "INSERT INTO rounds (id, start_time, status) VALUES (1, 1000, 'complete'), " +
        "(2, 2000, 'complete'); " +
        "INSERT INTO ports (id, first_seen) VALUES (22, 1000), (53, 1000), (40000, 1000); " +
        "INSERT INTO rounds_ports (round_id, port_id, protocol, family, sweeps_seen, first_seen, " +
        "last_seen, socket_state) VALUES " +
        "(2, 22, 'tcp', 4, 1, 2100, 2100, 'LISTEN'), (1, 22, 'tcp', 6, 1, 1100, 1100, 'LISTEN'), " +
        "(1, 53, 'udp', 4, 1, 1200, 1200, 'UNCONN'), (1, 53, 'tcp', 4, 1, 1200, 1200, 'ESTABLISHED'), " +
        "(1, 40000, 'tcp', 4, 1, 1300, 1300, 'ESTABLISHED')",
    );
  }
  using db = openDatabase(path);
  assert.deepEqual(
    db.prepare(
      "SELECT id, tcp_listener_first_seen AS tcp, udp_listener_first_seen AS udp FROM ports " +
        "ORDER BY id",
    ).all().map((r) => ({ ...r })),
    [
      { id: 22, tcp: 1100, udp: null },
      { id: 53, tcp: null, udp: 1200 },
      { id: 40000, tcp: null, udp: null },
    ],
  );
});
