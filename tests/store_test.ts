import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { PadError } from "../src/errors.ts";
import { insertRows, openAndMigrate, openDatabase, pragma } from "../src/store/database.ts";
import { defaultDatabasePath } from "../src/store/default_path.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/store/migrations.ts";
import { previousImport } from "../src/store/imports.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";

function schemaOf(path: string): string {
  using db = new DatabaseSync(path, { readOnly: true });
  return db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name").all()
    .map((r) => `${r.type} ${r.name} ${r.sql}`).join("\n");
}

/** A database at `path` made by the migrations up to `version`, as a pad of that schema left it. */
function databaseAt(path: string, version: number): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA foreign_keys = ON");
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) db.exec(m.sql);
  db.exec(`PRAGMA user_version = ${version}`);
  return db;
}

Deno.test("openAndMigrate() migrates an empty file, and a second run changes nothing", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  Deno.writeFileSync(path, new Uint8Array());
  const first = openAndMigrate(path);
  first.db.close();
  assert.deepEqual([first.from, first.to], [0, SCHEMA_VERSION]);
  const schema = schemaOf(path);
  assert.match(schema, /CREATE TABLE rounds_ports/);

  const second = openAndMigrate(path);
  second.db.close();
  assert.deepEqual([second.from, second.to, second.created], [
    SCHEMA_VERSION,
    SCHEMA_VERSION,
    false,
  ]);
  assert.equal(schemaOf(path), schema);
});

Deno.test("insertRows() stores every row whole and in order, across statement boundaries", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  db.exec("CREATE TABLE t (i INTEGER, text TEXT, blob BLOB)");
  let next = 0;
  for (const count of [0, 1, 63, 64, 65, 200]) {
    const rows = Array.from({ length: count }, () => {
      const i = next++;
      return [i, i % 3 === 0 ? null : `row ${i}`, new Uint8Array([i & 0xff, 7])];
    });
    insertRows(db, "t", ["i", "text", "blob"], rows);
  }
  const stored = db.prepare("SELECT i, text, blob FROM t ORDER BY rowid").all();
  assert.equal(stored.length, next);
  stored.forEach((row, k) => {
    assert.equal(row.i, k);
    assert.equal(row.text, k % 3 === 0 ? null : `row ${k}`);
    assert.deepEqual(row.blob, new Uint8Array([k & 0xff, 7]));
  });
});

Deno.test("openDatabase() sets WAL, foreign keys, a busy timeout and incremental vacuum", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  assert.equal(db.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
  assert.equal(pragma(db, "foreign_keys"), 1);
  assert.ok(pragma(db, "busy_timeout") >= 10_000);
  assert.equal(pragma(db, "auto_vacuum"), 2); // INCREMENTAL
});

Deno.test("openDatabase() refuses a database from a newer pad and leaves it untouched", async () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  openDatabase(path).close();
  {
    using raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const before = Deno.readFileSync(path);
  assert.throws(() => openDatabase(path), (error: Error) => {
    assert.ok(error instanceof PadError);
    assert.match(error.message, new RegExp(`schema version ${SCHEMA_VERSION + 5}, newer than`));
    assert.match(error.message, /upgrade pad/);
    return true;
  });
  assert.deepEqual(Deno.readFileSync(path), before);

  const run = await runPad(["--db", path, "init"]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.deepEqual(Deno.readFileSync(path), before);
});

Deno.test("a new database file is mode 0600 inside a new 0700 directory", () => {
  using dir = tempDir();
  const path = `${dir.path}/deep/er/pad.db`;
  const umask = Deno.umask(0o000); // the widest umask: pad must still create private files
  try {
    openDatabase(path).close();
  } finally {
    Deno.umask(umask);
  }
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  assert.equal(Deno.statSync(`${dir.path}/deep/er`).mode! & 0o777, 0o700);
  assert.equal(Deno.statSync(`${dir.path}/deep`).mode! & 0o777, 0o700);
});

Deno.test("openDatabase() rejects a file that is not SQLite with a clear error", () => {
  using dir = tempDir();
  const path = `${dir.path}/notes.txt`;
  Deno.writeTextFileSync(path, "these are not the tables you are looking for\n".repeat(100));
  assert.throws(() => openDatabase(path), /Not a pad database/);
  assert.match(Deno.readTextFileSync(path), /^these are not/);
});

Deno.test("defaultDatabasePath() prefers PAD_DB, then XDG_DATA_HOME, then HOME", () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  assert.equal(defaultDatabasePath(env({ PAD_DB: "/x/p.db", HOME: "/h" })), "/x/p.db");
  assert.equal(defaultDatabasePath(env({ XDG_DATA_HOME: "/d", HOME: "/h" })), "/d/pad/pad.db");
  assert.equal(defaultDatabasePath(env({ HOME: "/h" })), "/h/.local/share/pad/pad.db");
  assert.throws(() => defaultDatabasePath(env({})), /HOME is not set/);
});

Deno.test("two processes migrating one new database at once both succeed", async () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  const runs = await Promise.all([runPad(["--db", path, "init"]), runPad(["--db", path, "init"])]);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  using db = new DatabaseSync(path, { readOnly: true });
  assert.equal(pragma(db, "user_version"), SCHEMA_VERSION);
});

Deno.test("migration 0010 rebuilds anomalies and verdicts whole: ports, incidents and learned flags stay", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using old = databaseAt(path, 9);
    old.exec(
      "INSERT INTO rounds (id, start_time, status) VALUES (1, 1000, 'complete'); " +
        "INSERT INTO ports (id, first_seen) VALUES (4444, 1000); " +
        "INSERT INTO models (id, created, encoding, topology, config, threshold_state, " +
        "rounds_trained) " +
        "VALUES (1, 900, 'e', '[]', '{}', '{}', 60); " +
        "INSERT INTO round_scores (round_id, model_id, scored_at, score, threshold, verdict, " +
        "learned) VALUES (1, 1, 1100, 50, 10, 'anomaly', 1); " +
        "INSERT INTO incidents (id, kind, cause_key, summary, start_time, end_time, opened_at) " +
        "VALUES (7, 'new listener', 'listener tcp/4444', 'new TCP listener on 4444', 1000, " +
        "2000, 1100); " +
        "INSERT INTO anomalies (id, round_id, detected_at, score, threshold, model_id, reason, " +
        "incident_id) VALUES (3, 1, 1100, 50, 10, 1, 'new listener', 7); " +
        "INSERT INTO anomaly_ports (anomaly_id, port_id, protocol, error) " +
        "VALUES (3, 4444, 'tcp', 1)",
    );
  }
  using db = openDatabase(path);
  const rows = (sql: string) => db.prepare(sql).all().map((r) => ({ ...r }));
  assert.deepEqual(rows("SELECT id, round_id, score, reason, incident_id FROM anomalies"), [
    { id: 3, round_id: 1, score: 50, reason: "new listener", incident_id: 7 },
  ]);
  assert.deepEqual(rows("SELECT anomaly_id, port_id FROM anomaly_ports"), [
    { anomaly_id: 3, port_id: 4444 },
  ]);
  assert.deepEqual(rows("SELECT verdict, learned FROM round_scores"), [
    { verdict: "anomaly", learned: 1 },
  ]);
  assert.deepEqual(rows("PRAGMA foreign_key_check"), []);
  // What the rebuild was for: a rule's flag before any model, and a partial round's verdict.
  db.exec(
    "INSERT INTO anomalies (round_id, detected_at, reason) VALUES (1, 1200, 'rule'); " +
      "UPDATE round_scores SET verdict = 'partial'",
  );
  // Deleting the round still takes its anomalies and their ports with it.
  db.exec("DELETE FROM rounds");
  assert.deepEqual(rows("SELECT count(*) AS n FROM anomaly_ports"), [{ n: 0 }]);
  assert.deepEqual(rows("SELECT count(*) AS n FROM anomalies"), [{ n: 0 }]);
});

Deno.test("migration 0014 keeps every traffic count and flow, numbered within its round, and deleting a round still takes them", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using old = databaseAt(path, 13);
    // Rows of two rounds interleaved, as ids were handed out across the table.
    old.exec(
      "INSERT INTO rounds (id, start_time, status) VALUES (1, 1000, 'complete'), " +
        "(2, 61000, 'complete'); " +
        "INSERT INTO ports (id, first_seen) VALUES (22, 1000), (53, 1000); " +
        "INSERT INTO round_traffic (id, round_id, port_id, protocol, direction, packets, bytes, " +
        "peers, remote_ports, accepts) VALUES (10, 1, 22, 'tcp', 'in', 5, 300, 1, 1, NULL), " +
        "(11, 2, 22, 'tcp', 'in', 7, 420, 2, 2, NULL), (12, 1, 22, 'tcp', 'out', 4, 240, 1, 1, 1); " +
        "INSERT INTO flows (id, round_id, protocol, family, local_addr, port_id, remote_addr, " +
        "remote_port, direction, first_seen, last_seen, packets_in, packets_out, bytes_in, " +
        "bytes_out, state, dns_query) VALUES " +
        "(5, 2, 'udp', 4, '192.0.2.1', 53, '192.0.2.9', 40000, 'in', 61000, 61001, 1, 1, 80, 96, " +
        "NULL, 'example.com'), " +
        "(6, 1, 'tcp', 4, '192.0.2.1', 22, '192.0.2.7', 50000, 'in', 1000, 2000, 5, 4, 300, 240, " +
        "'closed', NULL)",
    );
  }
  using db = openDatabase(path);
  const rows = (sql: string) => db.prepare(sql).all().map((r) => ({ ...r }));
  assert.deepEqual(
    rows(
      "SELECT round_id, id, direction, packets, bytes, peers, accepts FROM round_traffic " +
        "ORDER BY round_id, id",
    ),
    [
      { round_id: 1, id: 1, direction: "in", packets: 5, bytes: 300, peers: 1, accepts: null },
      { round_id: 1, id: 2, direction: "out", packets: 4, bytes: 240, peers: 1, accepts: 1 },
      { round_id: 2, id: 1, direction: "in", packets: 7, bytes: 420, peers: 2, accepts: null },
    ],
  );
  assert.deepEqual(
    rows("SELECT round_id, id, port_id, state, dns_query FROM flows ORDER BY round_id, id"),
    [
      { round_id: 1, id: 1, port_id: 22, state: "closed", dns_query: null },
      { round_id: 2, id: 1, port_id: 53, state: null, dns_query: "example.com" },
    ],
  );
  // No separate index by round is left: each table is kept in that order.
  assert.deepEqual(
    rows(
      "SELECT name FROM sqlite_schema WHERE type = 'index' " +
        "AND tbl_name IN ('round_traffic', 'flows') AND sql IS NOT NULL",
    ),
    [],
  );
  assert.deepEqual(rows("PRAGMA foreign_key_check"), []);
  db.exec("DELETE FROM rounds WHERE id = 1");
  assert.deepEqual(rows("SELECT round_id, count(*) AS n FROM round_traffic GROUP BY 1"), [
    { round_id: 2, n: 1 },
  ]);
  assert.deepEqual(rows("SELECT round_id, count(*) AS n FROM flows GROUP BY 1"), [
    { round_id: 2, n: 1 },
  ]);
});

Deno.test("migration 0015 keeps every traffic count, flow and packet row, and its checks still refuse what they refused", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  const dump = (db: DatabaseSync) =>
    ["round_traffic", "flows", "packets"].map((table) =>
      db.prepare(`SELECT * FROM ${table} ORDER BY round_id, id`).all().map((r) => ({ ...r }))
    );
  let before;
  {
    using old = databaseAt(path, 14);
    old.exec(
      "INSERT INTO rounds (id, start_time, status) VALUES (1, 1000, 'complete'); " +
        "INSERT INTO ports (id, first_seen) VALUES (53, 1000); " +
        "INSERT INTO round_traffic VALUES (1, 1, 53, 'udp', 'in', 5, 300, 1, 1, NULL), " +
        "(2, 1, NULL, 'icmpv6', 'out', 1, 64, 1, 0, NULL); " +
        "INSERT INTO flows VALUES (1, 1, 'udp', 6, '2001:db8::1', 53, '2001:db8::9', 40000, 'in', " +
        "17, 'dnsmasq', 1000, 1001, 1, 1, 80, 96, NULL, NULL, 'example.com', 'example.com'); " +
        "INSERT INTO packets VALUES (7, 1, 1000, 'eth:ipv6:udp:dns', 'example.com', NULL, 53, " +
        "40000, 'in', 6, '2001:db8::9', 80, x'00ff')",
    );
    before = dump(old);
  }
  using db = openDatabase(path);
  const after = dump(db);
  // Migration 0017 adds a column to flows, empty for the flows stored before it.
  for (const flow of after[1]!) {
    assert.equal(flow.carries_traffic, null);
    delete flow.carries_traffic;
  }
  assert.deepEqual(after, before);
  assert.equal(before.flat().length, 4);
  // The same values are refused, each by its own check.
  for (
    const [sql, check] of [
      ["UPDATE port_traffic SET protocol = 'sctp'", "protocol"],
      ["UPDATE flows SET direction = 'both'", "direction"],
      ["UPDATE flows SET state = 'half-open'", "state"],
      ["UPDATE packets SET direction = 'both'", "direction"],
    ]
  ) {
    assert.throws(() => db.exec(sql!), new RegExp(`CHECK constraint failed: ${check}`), sql);
  }
  // SQLite checks `IN` over three or more values by building a table for every row it writes.
  const hotTables = db.prepare(
    "SELECT name, sql FROM sqlite_schema WHERE name IN ('port_traffic', 'flows', 'packets', " +
      "'rounds_ports', 'round_connections')",
  ).all();
  assert.equal(hotTables.length, 5);
  for (const { name, sql } of hotTables) {
    assert.doesNotMatch(String(sql), /\bIN\s*\([^()]*,[^()]*,/i, `${name}: a slow check`);
  }
  assert.deepEqual(db.prepare("PRAGMA foreign_key_check").all(), []);
  db.exec("DELETE FROM rounds");
  assert.deepEqual(dump(db).flat(), []);
});

Deno.test("migration 0016 leaves the imports made before it complete: they are refused again, not resumed", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using old = databaseAt(path, 15);
    old.exec(
      "INSERT INTO imports (file, fingerprint, bytes, imported_at, rounds) " +
        "VALUES ('a.pcap', 'f1', 100, 1000, 12)",
    );
  }
  using db = openDatabase(path);
  assert.deepEqual(previousImport(db, "f1"), {
    id: 1,
    file: "a.pcap",
    fingerprint: "f1",
    bytes: 100,
    importedAt: 1000,
    rounds: 12,
    complete: true,
  });
});

Deno.test("migration 0017 keeps every traffic count where round_traffic reads it, and init --recover copies a schema-16 database's counts", async () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  const old = `${dir.path}/old.db`;
  const traffic = (db: DatabaseSync) =>
    db.prepare("SELECT * FROM round_traffic ORDER BY round_id, id").all().map((r) => ({ ...r }));
  let before;
  for (const file of [path, old]) {
    using db = databaseAt(file, 16);
    db.exec(
      "INSERT INTO rounds (id, start_time, status) VALUES (1, 1000, 'complete'); " +
        "INSERT INTO ports (id, first_seen) VALUES (50000, 1000); " +
        "INSERT INTO round_traffic VALUES (1, 1, 50000, 'tcp', 'in', 5, 300, 1, 1, NULL), " +
        "(2, 1, 50000, 'tcp', 'out', 4, 240, 1, 1, 0); " +
        "INSERT INTO flows VALUES (1, 1, 'tcp', 4, '192.0.2.1', 50000, '192.0.2.9', 443, 'out', " +
        "NULL, NULL, 1000, 1001, 5, 4, 300, 240, 24, 'open', NULL, NULL)",
    );
    before = traffic(db);
  }
  assert.equal(before!.length, 2);
  {
    using db = openDatabase(path);
    assert.deepEqual(traffic(db), before);
    assert.equal(db.prepare("SELECT count(*) AS n FROM port_traffic").get()!.n, 2);
    assert.deepEqual(db.prepare("SELECT carries_traffic FROM flows").all().map((r) => ({ ...r })), [
      { carries_traffic: null },
    ]);
    assert.throws(
      () => db.exec("DELETE FROM round_traffic"),
      /cannot modify round_traffic because it is a view/,
    );
  }
  const recovered = `${dir.path}/recovered.db`;
  const recover = await runPad(["--db", recovered, "init", "--recover", old]);
  assert.equal(recover.code, 0, recover.stderr);
  assert.match(recover.stdout, /^port_traffic\t2 rows recovered$/m);
  using saved = new DatabaseSync(recovered, { readOnly: true });
  assert.deepEqual(traffic(saved), before);
});
