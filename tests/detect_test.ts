import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type DetectOptions, runDetect } from "../src/commands/detect.ts";
import { loadDetector } from "../src/model/mod.ts";
import { BufferOutput } from "../src/output.ts";
import { openDatabase } from "../src/store/database.ts";
import { latestModel } from "../src/store/detections.ts";
import { savedModelOf } from "../src/detect/model_state.ts";
import { lockRole } from "../src/store/lock.ts";
import { runPad, spawnPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory, injectListener, injectUdpFlood } from "../fixtures/synthetic.ts";
import type { RoundData } from "../src/round.ts";

/** Three hours of a synthetic host: warm-up, calibration, then an hour that is judged. */
const ROUNDS = 180;

function history(seed: number, edit: (rounds: RoundData[]) => void = () => {}): RoundData[] {
  const rounds = generateHistory({ rounds: ROUNDS, seed });
  edit(rounds);
  return rounds;
}

function database(dir: string, rounds: RoundData[], name = "pad.db"): string {
  const path = `${dir}/${name}`;
  using db = openDatabase(path);
  storeRoundHistory(db, rounds);
  return path;
}

function detect(db: string, options: Partial<DetectOptions> = {}) {
  const out = new BufferOutput();
  return runDetect(
    { db, warmup: 60, seed: 1, rescore: false, maxEpochs: 20, format: "text", ...options },
    out,
  ).then((result) => ({ result, text: out.text }));
}

function query(db: string, sql: string, ...params: (string | number)[]) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all(...params).map((r) => ({ ...r }));
}

Deno.test("detect flags a new listener in its round, stores it with its port and process, and warm-up is never flagged", async () => {
  using dir = tempDir();
  const injected = ROUNDS - 20;
  const db = database(dir.path, history(11, (r) => r[injected] = injectListener(r[injected]!)));
  const { result, text } = await detect(db);

  assert.equal(result.scored, ROUNDS);
  assert.deepEqual(result.anomalies.map((a) => a.roundId), [injected + 1]); // ids start at 1
  const verdicts = query(db, "SELECT round_id, verdict FROM round_scores ORDER BY round_id");
  assert.equal(verdicts.length, ROUNDS);
  assert.ok(verdicts.slice(0, 60).every((v) => v.verdict === "warmup"));
  const [anomaly] = query(db, "SELECT * FROM anomalies");
  assert.equal(anomaly!.round_id, injected + 1);
  assert.ok((anomaly!.score as number) > (anomaly!.threshold as number));
  const [top] = query(
    db,
    "SELECT port_id, protocol, command FROM anomaly_ports WHERE anomaly_id = ? ORDER BY error DESC LIMIT 1",
    anomaly!.id as number,
  );
  assert.deepEqual(top, { port_id: 41_234, protocol: "tcp", command: "nc" });
  // What cron mails: the incident in words first, then one summary line.
  const [incidentLine, summary] = text.trimEnd().split("\n");
  assert.match(
    incidentLine!,
    /^Incident 1 opened on .+: new TCP listener on 41234 \(nc, pid \d+\) \(since \S+Z, 1 round\)$/,
  );
  assert.match(
    summary!,
    /^Scored 180 rounds, 60 in warm-up .*: 1 round flagged, 1 incident opened/,
  );
  const [incident] = query(db, "SELECT * FROM incidents");
  assert.equal(incident!.first_round_id, injected + 1);
  assert.equal(incident!.kind, "new listener");
  assert.equal(query(db, "SELECT incident_id FROM anomalies")[0]!.incident_id, incident!.id);
});

Deno.test("detect scores each round once, and --rescore scores them all again", async () => {
  using dir = tempDir();
  const db = database(dir.path, history(12));
  await detect(db);
  const again = await detect(db);
  assert.equal(again.result.scored, 0);
  assert.equal(again.text, "No new rounds to score\n");
  const models = query(db, "SELECT count(*) AS n FROM models")[0]!.n;
  const rescored = await detect(db, { rescore: true });
  assert.equal(rescored.result.scored, ROUNDS);
  assert.equal(query(db, "SELECT count(*) AS n FROM models")[0]!.n, models); // nothing learned
});

Deno.test("the same seed gives the same scores", async () => {
  using dir = tempDir();
  const rounds = history(13);
  const a = database(dir.path, rounds, "a.db");
  const b = database(dir.path, rounds, "b.db");
  await detect(a, { seed: 7 });
  await detect(b, { seed: 7 });
  const scores = (db: string) =>
    query(db, "SELECT round_id, score, threshold, verdict FROM round_scores ORDER BY round_id");
  assert.deepEqual(scores(a), scores(b));
});

Deno.test("an attack that lasts is never learned as normal: every round of it stays flagged", async () => {
  using dir = tempDir();
  const from = 130;
  const db = database(
    dir.path,
    history(14, (r) => {
      for (let i = from; i < ROUNDS; i++) r[i] = injectUdpFlood(r[i]!);
    }),
  );
  const { result } = await detect(db);
  const flagged = new Set(result.anomalies.map((a) => a.roundId - 1));
  for (let i = from; i < ROUNDS; i++) {
    if (i >= 120) assert.ok(flagged.has(i), `round ${i} of the flood was not flagged`);
  }
  const trained = query(db, "SELECT max(rounds_trained) AS n FROM models")[0]!.n as number;
  assert.ok(trained > 0);
});

Deno.test("pad detect --exit-code exits 3 exactly when an incident opened; --format json", async () => {
  using dir = tempDir();
  const injected = ROUNDS - 5;
  const db = database(
    dir.path,
    history(15, (r) => r[injected] = injectListener(r[injected]!, 40_001)),
  );
  const first = await runPad(["--db", db, "detect", "--exit-code", "--format", "json"]);
  assert.equal(first.code, 3, first.stderr);
  const lines = first.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.at(-1).type, "summary");
  assert.equal(lines.at(-1).anomalies, 1);
  assert.equal(lines[0].type, "anomaly");
  assert.equal(lines[0].round_id, injected + 1);
  assert.equal(lines[0].ports[0].port, 40_001);
  const incident = lines.find((l) => l.type === "incident");
  assert.equal(incident.event, "opened");
  assert.equal(incident.first_round_id, injected + 1);
  assert.match(incident.summary, /^new TCP listener on 40001 /);
  // The version that scored the round, not the one the run left (it learned since).
  const scoredBy = query(db, "SELECT model_id FROM anomalies")[0]!.model_id;
  assert.equal(lines[0].model_version, scoredBy);
  assert.equal(incident.model_version, scoredBy);
  assert.ok(lines.at(-1).model_version > Number(scoredBy));
  assert.equal(typeof incident.host, "string");
  const second = await runPad(["--db", db, "detect", "--exit-code"]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, "No new rounds to score\n");
});

Deno.test("a second detect on the same database exits 4 at once", async () => {
  using dir = tempDir();
  const db = database(dir.path, history(16).slice(0, 20));
  using _held = lockRole(db, "detect");
  const run = await runPad(["--db", db, "detect"]);
  assert.equal(run.code, 4);
  assert.match(run.stderr, /Another pad detect is running/);
  assert.equal(query(db, "SELECT count(*) AS n FROM round_scores")[0]!.n, 0);
});

/** Flips a byte in the middle of the weights of model versions `ids` (all when absent). */
function damageModels(db: string, ids?: number[]): void {
  using conn = new DatabaseSync(db);
  for (
    const row of conn.prepare("SELECT id, weights FROM models WHERE weights IS NOT NULL").all()
  ) {
    if (ids && !ids.includes(row.id as number)) continue;
    const damaged = new Uint8Array(row.weights as Uint8Array);
    const middle = damaged.length >> 1;
    damaged[middle] = damaged[middle]! ^ 0xff;
    conn.prepare("UPDATE models SET weights = ? WHERE id = ?").run(damaged, row.id as number);
  }
}

Deno.test("a damaged newest model is passed over for the newest version that loads", async () => {
  using dir = tempDir();
  const rounds = history(17);
  const db = database(dir.path, rounds.slice(0, 120));
  await detect(db);
  const versions = query(db, "SELECT id FROM models ORDER BY id").map((r) => r.id as number);
  assert.ok(versions.length >= 2, "two hours learned: two versions");
  const newest = versions.at(-1)!;
  damageModels(db, [newest]);
  {
    using conn = openDatabase(db);
    storeRoundHistory(conn, rounds.slice(120));
  }
  const run = await runPad(["--db", db, "detect"]);
  assert.equal(run.code, 0, run.stderr);
  const warnings = run.stderr.trim().split("\n");
  assert.equal(warnings.length, 1, run.stderr);
  assert.match(
    warnings[0]!,
    new RegExp(
      `stored model could not be loaded \\(version ${newest}: .*\\); scoring with version ` +
        `${newest - 1}, the newest that loads`,
    ),
  );
  const scoredBy = query(db, "SELECT DISTINCT model_id FROM round_scores WHERE round_id > 120");
  assert.deepEqual(scoredBy, [{ model_id: newest - 1 }]);
});

Deno.test("a corrupt model with no older version that loads is reported once and rebuilt", async () => {
  using dir = tempDir();
  const rounds = history(17);
  const db = database(dir.path, rounds.slice(0, 120));
  await detect(db);
  damageModels(db);
  {
    using conn = openDatabase(db);
    storeRoundHistory(conn, rounds.slice(120));
  }
  const run = await runPad(["--db", db, "detect"]);
  assert.equal(run.code, 0, run.stderr);
  const warnings = run.stderr.trim().split("\n");
  assert.equal(warnings.length, 1, run.stderr);
  assert.match(
    warnings[0]!,
    /stored model could not be loaded \(version \d+: .*\); building a new one/,
  );
  using conn = openDatabase(db);
  (await loadDetector(savedModelOf(latestModel(conn)!))).dispose();
});

Deno.test("detect --rescore never replaces verdicts with those of a model that could not load", async () => {
  using dir = tempDir();
  const injected = ROUNDS - 20;
  const db = database(dir.path, history(19, (r) => r[injected] = injectListener(r[injected]!)));
  await detect(db);
  const verdicts = () => query(db, "SELECT round_id, verdict, model_id FROM round_scores");
  const anomalies = () => query(db, "SELECT round_id, reason FROM anomalies");
  assert.equal(anomalies().length, 1);
  const newest = query(db, "SELECT max(id) AS id FROM models")[0]!.id as number;

  // The newest version is damaged: --rescore scores with the one before it.
  damageModels(db, [newest]);
  const fallback = await runPad(["--db", db, "detect", "--rescore"]);
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.match(fallback.stderr, new RegExp(`scoring with version ${newest - 1}`));
  assert.deepEqual(
    [...new Set(verdicts().map((v) => v.model_id))],
    [newest - 1],
    "every round scored by the version that loads",
  );
  assert.ok(verdicts().some((v) => v.verdict === "normal"), "not all warm-up");
  assert.deepEqual(
    anomalies().map((a) => a.round_id),
    [injected + 1],
    "the listener still flagged",
  );

  // No version loads: --rescore changes nothing and says so.
  const older = query(db, "SELECT id FROM models WHERE weights IS NOT NULL AND id < ?", newest);
  damageModels(db, older.map((r) => r.id as number));
  const before = { verdicts: verdicts(), anomalies: anomalies() };
  const refused = await runPad(["--db", db, "detect", "--rescore"]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /nor any older version: rescoring with a new model would replace every verdict with warm-up, so nothing was changed/,
  );
  assert.deepEqual({ verdicts: verdicts(), anomalies: anomalies() }, before);
});

Deno.test("a detect killed mid-fit leaves the previous model loadable", async () => {
  using dir = tempDir();
  const rounds = history(18);
  const db = database(dir.path, rounds.slice(0, 60));
  await detect(db);
  const before = query(db, "SELECT max(id) AS id FROM models")[0]!.id;
  {
    using conn = openDatabase(db);
    storeRoundHistory(conn, rounds.slice(60));
  }
  const child = spawnPad(["--db", db, "detect"]);
  // Scores of the first hour are stored before it is learned from: then the fit is running.
  for (let i = 0; i < 600; i++) {
    if ((query(db, "SELECT count(*) AS n FROM round_scores")[0]!.n as number) > 60) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  await child.output();
  assert.deepEqual(query(db, "PRAGMA integrity_check"), [{ integrity_check: "ok" }]);
  const unlearned = query(db, "SELECT count(*) AS n FROM round_scores WHERE learned = 0")[0]!.n;
  assert.ok((unlearned as number) > 0, "killed while an hour it had scored was being learned");
  const models = query(db, "SELECT max(id) AS id FROM models")[0]!.id as number;
  assert.ok(models >= (before as number));
  using conn = openDatabase(db);
  (await loadDetector(savedModelOf(latestModel(conn)!))).dispose();
  // The next run picks up where the killed one stopped.
  const next = await detect(db);
  assert.equal(
    query(db, "SELECT count(*) AS n FROM round_scores")[0]!.n,
    ROUNDS,
    `scored ${next.result.scored}`,
  );
  // ... and learns the hour the killed run had scored but not learned: every hour is learned.
  assert.equal(query(db, "SELECT count(*) AS n FROM round_scores WHERE learned = 0")[0]!.n, 0);
  assert.equal(
    query(db, "SELECT max(trained_until) AS t FROM models")[0]!.t,
    query(db, "SELECT max(start_time) AS t FROM rounds")[0]!.t,
  );
});
