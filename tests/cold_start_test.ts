/**
 * From the first rounds: rules flag scans at once, a new listener counts after the host's first
 * sweep, the model judges from --warmup on, a listener only traffic shows counts once warmed
 * up, and a capture's partial first and last rounds are not judged. Real SQLite, real detect.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runDetect } from "../src/commands/detect.ts";
import { scoresToRemember } from "../src/detect/model_state.ts";
import { BufferOutput } from "../src/output.ts";
import { openDatabase } from "../src/store/database.ts";
import type { RoundData } from "../src/round.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { writeSynCapture } from "../fixtures/pcap_writer.ts";
import {
  generateHistory,
  injectListener,
  injectOutboundScan,
  SCANNED,
} from "../fixtures/synthetic.ts";

function query(db: string, sql: string) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all().map((r) => ({ ...r }));
}

function stored(dir: string, rounds: RoundData[]): string {
  const db = `${dir}/pad.db`;
  using conn = openDatabase(db);
  storeRoundHistory(conn, rounds);
  return db;
}

async function detect(db: string, warmup = 60) {
  const out = new BufferOutput();
  const result = await runDetect(
    { db, warmup, seed: 1, rescore: false, maxEpochs: 10, format: "text", quiet: true },
    out,
  );
  return { result, text: out.text };
}

Deno.test("a scan ten minutes after the first round and a listener after the first sweep are incidents at once; the first sweep's listeners are not", async () => {
  using dir = tempDir();
  const rounds = generateHistory({ rounds: 40, seed: 41 });
  rounds[10] = injectOutboundScan(rounds[10]!);
  rounds[20] = injectListener(rounds[20]!, 4444);
  const db = stored(dir.path, rounds);
  const { result, text } = await detect(db);
  assert.deepEqual(
    query(db, "SELECT round_id, reason, score IS NULL AS unscored FROM anomalies ORDER BY id"),
    // No model exists before round 60: flagged by rules alone, without a score.
    [{ round_id: 11, reason: "rule", unscored: 1 }, {
      round_id: 21,
      reason: "new listener",
      unscored: 1,
    }],
  );
  assert.equal(result.opened.length, 2);
  assert.match(text, new RegExp(`outbound TCP SYN scan: 300 ports of ${SCANNED} from tcp/45000`));
  assert.match(text, /new TCP listener on 4444 \(nc, pid 6666\)/);
  const verdicts = query(db, "SELECT verdict, count(*) AS n FROM round_scores GROUP BY verdict");
  assert.deepEqual(verdicts, [{ verdict: "anomaly", n: 2 }, { verdict: "warmup", n: 38 }]);
});

Deno.test("the model judges from --warmup on: its first threshold comes from rounds it held out", async () => {
  using dir = tempDir();
  const db = stored(dir.path, generateHistory({ rounds: 90, seed: 42 }));
  const { result } = await detect(db, 30);
  assert.equal(result.warmup, 30);
  assert.ok(result.threshold !== null);
  const judged = query(
    db,
    "SELECT min(round_id) AS first FROM round_scores WHERE verdict IN ('normal', 'anomaly')",
  )[0]!.first;
  assert.equal(judged, 31);
  assert.equal(result.anomalies.length, 0, "a quiet synthetic host: nothing flagged");
});

Deno.test("a listener only traffic shows is new once the warm-up knows the host's services", async () => {
  using dir = tempDir();
  // Imported-like rounds: no sweep at all, services seen accepting connections.
  const rounds: RoundData[] = generateHistory({ rounds: 130, seed: 43 }).map((r) => ({
    ...r,
    occupied: [],
  }));
  const accepted = (r: RoundData, port: number): RoundData => ({
    ...r,
    traffic: [...r.traffic, {
      port,
      protocol: "tcp",
      direction: "out",
      packets: 6,
      bytes: 900,
      peers: 1,
      remotePorts: 1,
      accepts: 1,
    }],
  });
  for (let i = 0; i < 130; i++) rounds[i] = accepted(rounds[i]!, 443);
  rounds[20] = accepted(rounds[20]!, 8080); // during warm-up: learned as one of the host's
  rounds[100] = accepted(rounds[100]!, 4444); // a bind shell, found only by its SYN-ACK
  const db = stored(dir.path, rounds);
  await detect(db);
  assert.deepEqual(
    query(db, "SELECT kind, summary, first_round_id FROM incidents"),
    [{ kind: "new listener", summary: "new TCP listener on 4444", first_round_id: 101 }],
  );
});

Deno.test("an imported capture's partial first and last rounds are marked and not judged", async () => {
  using dir = tempDir();
  const file = `${dir.path}/short.pcap`;
  const start = Date.UTC(2026, 2, 2, 10, 0, 45); // 15 s before 10:01
  // 10:00:45 to 10:03:06: 15 s of 10:00, all of 10:01 and 10:02, 6 s of 10:03.
  writeSynCapture(file, start, 142);
  const db = `${dir.path}/pad.db`;
  const imported = await runPad(["--db", db, "import", file]);
  assert.equal(imported.code, 0, imported.stderr);
  const coverage = query(db, "SELECT coverage FROM rounds ORDER BY start_time").map((r) =>
    r.coverage === null ? null : Math.round(Number(r.coverage) * 100) / 100
  );
  assert.deepEqual(coverage, [0.25, null, null, 0.1]);
  await detect(db);
  assert.deepEqual(
    query(db, "SELECT verdict FROM round_scores ORDER BY round_id").map((r) => r.verdict),
    ["partial", "warmup", "warmup", "partial"],
  );
});

Deno.test("four logins in a 3-s round from one address are a brute force, named by port and address", async () => {
  using dir = tempDir();
  const file = `${dir.path}/guesser.pcap`;
  // Four SSH connections 0.7 s apart from one address, as hydra -t 4 makes them; a person logs
  // in once.
  writeSynCapture(file, Date.UTC(2026, 2, 2, 10, 0, 0, 500), 4, {
    src: "198.51.100.7",
    dst: "192.168.1.10",
    dstPort: 22,
    gapMs: 700,
  });
  const db = `${dir.path}/pad.db`;
  const imported = await runPad([
    ...["--db", db, "import", file, "--round-length", "3s", "--local", "192.168.1.10"],
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  const { result, text } = await detect(db);
  assert.deepEqual(result.opened.map((i) => i.kind), ["brute force"], text);
  assert.match(text, /4 connections to tcp\/22 from 198\.51\.100\.7 in 3 s/);
});

Deno.test("the threshold remembers no score from the window after a flagged round", () => {
  const v = (verdict: string, score: number | null) => ({ verdict, score });
  const step = [
    v("warmup", null),
    v("warmup", 1),
    v("normal", 2),
    v("anomaly", 50),
    v("normal", 14), // the listener that stays, still new to the model
    v("normal", 13),
    v("partial", 9),
    v("normal", 3),
    v("normal", 4),
  ];
  assert.deepEqual(scoresToRemember(step, 4), [1, 2, 3, 4]);
  assert.deepEqual(scoresToRemember(step, 1), [1, 2, 14, 13, 3, 4]);
});
