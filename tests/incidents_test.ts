/**
 * Incidents: how flagged rounds group (real SQLite, the store's own writers), what detect makes
 * of a synthetic host's scan and new listener, what `pad accept` changes, and the commands.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  closeQuiet,
  type FlaggedRecord,
  type IgnoreRules,
  type IncidentPolicy,
  NO_IGNORE_RULES,
  recordIncidents,
} from "../src/detect/incidents.ts";
import { type Database, openDatabase } from "../src/store/database.ts";
import { saveModel, storeScores } from "../src/store/detections.ts";
import type { IncidentCause, IncidentKind } from "../src/store/incidents.ts";
import { acceptIncident, activeIncidents, listIncidents } from "../src/store/incidents.ts";
import { LocalNetworks } from "../src/net/networks.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import {
  generateHistory,
  injectListener,
  injectOutboundScan,
  SCANNED,
} from "../fixtures/synthetic.ts";
import { seedRounds } from "./support/seed.ts";

const MINUTE = 60_000;
const START = Date.UTC(2026, 2, 2);
const POLICY: IncidentPolicy = { quietSpellMs: 30 * MINUTE, ignore: NO_IGNORE_RULES };

/** A database of `n` complete minute rounds and a model that can own verdicts. */
function roundsDatabase(db: Database, n: number): { ids: number[]; model: number } {
  const ids = seedRounds(db, Array.from({ length: n }, (_, i) => ({ start: START + i * MINUTE })));
  const model = saveModel(db, {
    created: START,
    encoding: "test",
    topology: "[]",
    weights: new Uint8Array(8),
    config: "{}",
    threshold: 10,
    thresholdState: "{}",
    roundsTrained: 0,
    trainedUntil: START,
    metrics: null,
  });
  return { ids, model };
}

function cause(kind: IncidentKind, subject: string, extra: Partial<IncidentCause> = {}) {
  return {
    kind,
    key: `${kind} ${subject}`,
    summary: `${kind} of ${subject}`,
    ports: [],
    peers: [],
    ...extra,
  };
}

/** Stores round `index` as flagged for `what` and returns it as detect hands it on. */
function flag(
  db: Database,
  setup: { ids: number[]; model: number },
  index: number,
  what: IncidentCause,
): FlaggedRecord {
  const roundId = setup.ids[index]!;
  const anomalyIds = storeScores(db, setup.model, START, [
    { roundId, score: 50 + index, threshold: 10, verdict: "anomaly", ports: [] },
  ]);
  return {
    roundId,
    anomalyId: anomalyIds.get(roundId)!,
    startTime: START + index * MINUTE,
    endTime: START + index * MINUTE + 55_000,
    score: 50 + index,
    modelVersion: setup.model,
    cause: what,
  };
}

function listener(port: number, command = "ncat"): IncidentCause {
  return {
    kind: "new listener",
    key: `listener tcp/${port}`,
    summary: `new TCP listener on ${port} (${command}, pid 4242)`,
    ports: [{ protocol: "tcp", port, command, pid: 4242 }],
    peers: [],
  };
}

Deno.test("consecutive flagged rounds are one incident whatever their causes; a new listener beside them is its own", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const setup = roundsDatabase(db, 10);
  const scan = cause("outbound scan", "198.51.100.7", { peers: ["198.51.100.7"] });
  const opened = recordIncidents(
    db,
    [
      flag(db, setup, 2, scan),
      // The scan's second round, then the TIME_WAIT sockets it leaves: the same event.
      flag(db, setup, 3, scan),
      flag(db, setup, 4, cause("ports", "nmap")),
      // A listener that opens right after is news of its own.
      flag(db, setup, 5, listener(4445)),
    ],
    POLICY,
    START,
  );
  assert.deepEqual(opened.map((i) => [i.kind, i.rounds]), [["outbound scan", 3], [
    "new listener",
    1,
  ]]);
  const [listenerIncident, scanIncident] = listIncidents(db, { limit: 0 });
  assert.equal(scanIncident!.firstRoundId, setup.ids[2]);
  assert.equal(scanIncident!.lastRoundId, setup.ids[4]);
  assert.equal(scanIncident!.peakScore, 54);
  assert.deepEqual(scanIncident!.peers, ["198.51.100.7"]);
  assert.equal(listenerIncident!.summary, "new TCP listener on 4445 (ncat, pid 4242)");
  const linked = db.prepare("SELECT incident_id FROM anomalies ORDER BY round_id").all()
    .map((r) => r.incident_id);
  assert.deepEqual(linked, [
    scanIncident!.id,
    scanIncident!.id,
    scanIncident!.id,
    listenerIncident!.id,
  ]);
});

Deno.test("the same cause within a quiet spell joins its incident; after the spell it is a new one", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const setup = roundsDatabase(db, 120);
  const dns = cause("dns", "192.0.2.53:53");
  const first = recordIncidents(db, [flag(db, setup, 10, dns)], POLICY, START);
  // 20 minutes later: within the spell.
  assert.deepEqual(recordIncidents(db, [flag(db, setup, 30, dns)], POLICY, START), []);
  // Judged up to minute 59: 29 quiet minutes, still open. Up to minute 61: closed.
  assert.deepEqual(closeQuiet(db, START + 59 * MINUTE, POLICY, START), []);
  const closed = closeQuiet(db, START + 61 * MINUTE, POLICY, START);
  assert.deepEqual(closed.map((i) => [i.id, i.status, i.rounds]), [[first[0]!.id, "closed", 2]]);
  const again = recordIncidents(db, [flag(db, setup, 70, dns)], POLICY, START);
  assert.equal(again.length, 1);
  assert.notEqual(again[0]!.id, first[0]!.id);
});

Deno.test("an accepted incident takes in later rounds of its cause and of its ports without an alert", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const setup = roundsDatabase(db, 200);
  const [incident] = recordIncidents(db, [flag(db, setup, 5, listener(4445))], POLICY, START);
  acceptIncident(db, incident!.id, START);
  const traffic = cause("traffic", "tcp/4445", {
    ports: [{ protocol: "tcp", port: 4445, command: "ncat", pid: 4242 }],
  });
  // Two hours later: the model's listener cause on the port, then traffic on it only.
  const later = [
    flag(db, setup, 120, { ...cause("listener", "tcp/4445"), ports: traffic.ports }),
    flag(db, setup, 150, traffic),
  ];
  assert.deepEqual(recordIncidents(db, later, POLICY, START), []);
  const [accepted] = activeIncidents(db);
  assert.equal(accepted!.status, "accepted");
  assert.equal(accepted!.rounds, 3);
  // A new listener on another port is news again.
  const other = recordIncidents(db, [flag(db, setup, 160, listener(4446))], POLICY, START);
  assert.equal(other.length, 1);
});

Deno.test("ignore rules open an accepted incident that is told nowhere, and say which rule", () => {
  using dir = tempDir();
  using db = openDatabase(`${dir.path}/pad.db`);
  const setup = roundsDatabase(db, 60);
  const ignore: IgnoreRules = {
    ports: ["tcp/4445"],
    processes: ["backup-agent"],
    networks: new LocalNetworks(["192.0.2.0/24"], false),
  };
  const policy = { ...POLICY, ignore };
  const opened = recordIncidents(
    db,
    [
      flag(db, setup, 1, listener(4445)),
      flag(db, setup, 10, listener(5000, "backup-agent")),
      flag(db, setup, 20, cause("brute force", "192.0.2.9", { peers: ["192.0.2.9"] })),
      // Not covered: a port and a peer outside the rules.
      flag(db, setup, 30, listener(4446)),
      flag(db, setup, 40, cause("brute force", "203.0.113.9", { peers: ["203.0.113.9"] })),
    ],
    policy,
    START,
  );
  assert.deepEqual(opened.map((i) => i.summary), [
    "new TCP listener on 4446 (ncat, pid 4242)",
    "brute force of 203.0.113.9",
  ]);
  const ignored = listIncidents(db, { status: "accepted", limit: 0 }).map((i) => i.summary);
  assert.deepEqual(ignored, [
    "ignored (--ignore-network 192.0.2.9): brute force of 192.0.2.9",
    "ignored (--ignore-process backup-agent): new TCP listener on 5000 (backup-agent, pid 4242)",
    "ignored (--ignore-port tcp/4445): new TCP listener on 4445 (ncat, pid 4242)",
  ]);
});

function query(db: string, sql: string, ...params: (string | number)[]) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all(...params).map((r) => ({ ...r }));
}

Deno.test("a synthetic host: a scan is one incident naming the scanned address, a listener that stays one naming its port and process; accept, and the next hour opens none", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const rounds = generateHistory({ rounds: 240, seed: 21 });
  // A 2-minute scan at 02:30, and a listener from 03:15 that stays.
  for (const i of [150, 151]) rounds[i] = injectOutboundScan(rounds[i]!);
  for (let i = 195; i < 240; i++) rounds[i] = injectListener(rounds[i]!, 4445);
  {
    using conn = openDatabase(db);
    storeRoundHistory(conn, rounds.slice(0, 200));
  }
  const first = await runPad(["--db", db, "detect", "--exit-code"]);
  assert.equal(first.code, 3, first.stderr);
  // The scan and the listener, each one incident in its own words. (On this host the model, which
  // judges from round 60, also flags two rounds of many client connections: the false alarms of a
  // young threshold that README's detect example shows.)
  const told = first.stdout.split("\n").filter((l) => l.startsWith("Incident "));
  const scanLine = told.filter((l) => l.includes(SCANNED));
  assert.equal(scanLine.length, 1, first.stdout);
  assert.match(
    scanLine[0]!,
    new RegExp(
      `^Incident \\d+ opened on .+: outbound TCP SYN scan: 300 ports of ${SCANNED} from tcp/45000 `,
    ),
  );
  const listenerLine = told.filter((l) => l.includes("4445"));
  assert.equal(listenerLine.length, 1, first.stdout);
  assert.match(
    listenerLine[0]!,
    /^Incident \d+ opened on .+: new TCP listener on 4445 \(nc, pid 6666\) /,
  );
  const scanId = Number(/^Incident (\d+)/.exec(scanLine[0]!)![1]);
  const listenerId = Number(/^Incident (\d+)/.exec(listenerLine[0]!)![1]);

  const listed = await runPad(["--db", db, "incidents", "--format", "json"]);
  assert.equal(listed.code, 0, listed.stderr);
  const incidents = listed.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const byId = new Map(incidents.map((i) => [i.id, i]));
  assert.deepEqual([byId.get(listenerId).status, byId.get(listenerId).kind], [
    "open",
    "new listener",
  ]);
  // The hour after the scan was quiet.
  assert.deepEqual([byId.get(scanId).status, byId.get(scanId).kind], ["closed", "outbound scan"]);
  for (const field of ["summary", "start_time", "end_time", "first_round_id", "last_round_id"]) {
    assert.ok(incidents.every((i) => field in i), field);
  }
  assert.deepEqual(byId.get(scanId).peers, [SCANNED]);
  assert.equal(byId.get(scanId).first_round_id, 151);

  const shown = await runPad(["--db", db, "incidents", "show", String(listenerId)]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(
    shown.stdout,
    new RegExp(`^Incident ${listenerId}: new TCP listener on 4445 \\(nc, pid 6666\\)\n`),
  );
  assert.match(
    shown.stdout,
    new RegExp(
      `status +open: answer with pad ack ${listenerId} \\(seen\\) or pad accept ${listenerId}`,
    ),
  );
  assert.match(shown.stdout, /ports +tcp\/4445 \(nc, pid 6666\)/);

  const accept = await runPad(["--db", db, "accept", String(listenerId)]);
  assert.equal(accept.code, 0, accept.stderr);
  assert.match(
    accept.stdout,
    new RegExp(`^Incident ${listenerId} accepted: the next pad detect learns its \\d+ rounds? `),
  );
  {
    using conn = openDatabase(db);
    storeRoundHistory(conn, rounds.slice(200));
  }
  const next = await runPad(["--db", db, "detect", "--exit-code"]);
  assert.equal(next.code, 0, `${next.stdout}${next.stderr}`);
  assert.doesNotMatch(next.stdout, /^Incident/m);
  const statuses = new Map(
    query(db, "SELECT id, status FROM incidents").map((r) => [r.id, r.status]),
  );
  assert.equal(statuses.get(scanId), "closed");
  assert.equal(statuses.get(listenerId), "accepted");
  // The accepted rounds, and those that joined the accepted incident since, were learned.
  const unlearned = query(
    db,
    "SELECT count(*) AS n FROM round_scores s JOIN anomalies a ON a.round_id = s.round_id " +
      "WHERE a.incident_id = ? AND s.learned = 0",
    listenerId,
  )[0]!.n;
  assert.equal(unlearned, 0);
});

Deno.test("pad incidents, ack and accept: clear errors for what is not there", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  assert.equal((await runPad(["--db", db, "init"])).code, 0);
  const none = await runPad(["--db", db, "incidents", "--format", "table"]);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, "No incidents\n");
  for (const args of [["ack", "7"], ["accept", "7"], ["incidents", "show", "7"]]) {
    const run = await runPad(["--db", db, ...args]);
    assert.equal(run.code, 2, args.join(" "));
    assert.match(run.stderr, /No incident 7: pad incidents lists them/);
  }
  const bad = await runPad(["--db", db, "ack", "seven"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /ID/);
  const status = await runPad(["--db", db, "incidents", "--status", "gone"]);
  assert.equal(status.code, 2);
  assert.match(status.stderr, /open, closed, acknowledged, accepted/);
});
