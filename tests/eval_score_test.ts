import assert from "node:assert/strict";
import type { LabelledDatabase } from "../eval/labels.ts";
import {
  markdownTable,
  perThousand,
  scoreDatabase,
  scoreOpenDatabase,
  summarize,
  targets,
} from "../eval/score.ts";
import { NO_ATTEMPTS, type RoundData } from "../src/round.ts";
import { type Database, openDatabase } from "../src/store/database.ts";
import { type IncidentKind, openIncident } from "../src/store/incidents.ts";
import { tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";

const T0 = Date.UTC(2026, 10, 2, 0, 0);
const MINUTE = 60_000;
/** Round i starts at minute i and lasts 55 s (as storeRoundHistory writes it). */
const at = (i: number) => T0 + i * MINUTE;

/**
 * 260 minute rounds of a host with sshd on tcp/22. Rounds 0–119 are warm-up (0–59 without a
 * score, as before the first model), 120–259 judged with threshold 5. What happens:
 * - round 130: pad flags a benign round (its false alarm);
 * - round 140: first traffic on udp/5353 (a new port, not a listener);
 * - rounds 150–151: a new listener on tcp/41234; pad flags only 151;
 * - round 170: a client's ephemeral tcp/50000 (ESTABLISHED) appears;
 * - round 185: a flood, pad flags it; round 186 settles after it;
 * - round 250: the highest score of the batch 240–259, benign, below the threshold.
 * Each flagged round opened an incident.
 */
function seedHost(db: Database): number[] {
  const rounds: RoundData[] = [];
  for (let i = 0; i < 260; i++) {
    const round: RoundData = {
      id: 0,
      startTime: at(i),
      occupied: [{ port: 22, protocol: "tcp", family: 4, listening: true }],
      traffic: [
        {
          port: 22,
          protocol: "tcp",
          direction: "in",
          packets: 10,
          bytes: 900,
          peers: 1,
          remotePorts: 1,
        },
        {
          port: null,
          protocol: "icmp",
          direction: "in",
          packets: 1,
          bytes: 84,
          peers: 1,
          remotePorts: 0,
        },
      ],
      dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 },
      attempts: NO_ATTEMPTS,
      captured: true,
    };
    if (i === 140) {
      round.traffic.push({
        port: 5353,
        protocol: "udp",
        direction: "out",
        packets: 2,
        bytes: 200,
        peers: 1,
        remotePorts: 1,
      });
    }
    if (i === 150 || i === 151) {
      round.occupied.push({ port: 41_234, protocol: "tcp", family: 4, listening: true });
    }
    if (i === 170) {
      round.occupied.push({ port: 50_000, protocol: "tcp", family: 4, listening: false });
    }
    rounds.push(round);
  }
  const ids = storeRoundHistory(db, rounds);
  const score = db.prepare(
    "INSERT INTO round_scores (round_id, scored_at, score, threshold, verdict) VALUES (?, ?, ?, ?, ?)",
  );
  for (const [i, id] of ids.entries()) {
    const special: Record<number, number> = { 130: 6, 150: 4, 151: 9, 185: 20, 250: 2.5 };
    const value = i < 60 ? null : special[i] ?? 1 + (i % 7) / 10; // benign: 1.0–1.6
    const verdict = i < 120 ? "warmup" : value! > 5 ? "anomaly" : "normal";
    score.run(id, at(i) + 1, value, i < 120 ? null : 5, verdict);
  }
  const incident = (i: number, kind: IncidentKind, summary: string) =>
    openIncident(db, { kind, key: summary, summary, ports: [], peers: [] }, {
      roundId: ids[i]!,
      anomalyId: 0,
      startTime: at(i),
      endTime: at(i) + 55_000,
      score: 9,
      modelVersion: null,
    }, at(i));
  incident(130, "traffic", "unusual traffic on tcp/22");
  incident(151, "new listener", "new TCP listener on 41234");
  incident(185, "flood", "SYN flood on tcp/22");
  return ids;
}

const LABELS: Omit<LabelledDatabase, "db"> = {
  name: "test: seeded host",
  episodes: [
    {
      type: "new listener",
      start: at(150) + 10_000,
      end: at(151) + 20_000,
      settled: at(151) + 20_000,
      command: "nc -l 41234",
    },
    {
      type: "flood",
      start: at(185) + 5_000,
      end: at(185) + 50_000,
      settled: at(186) + 30_000,
      command: "hping3 --flood",
    },
  ],
};

Deno.test("scoreDatabase() compares pad and the baselines on the rounds pad judged", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  const db = openDatabase(path);
  seedHost(db);
  db.close();
  const outcome = scoreDatabase({ ...LABELS, db: path });

  assert.equal(outcome.group, "test");
  assert.equal(outcome.rounds, 260);
  assert.equal(outcome.judged, 140); // 120–259
  assert.equal(outcome.excluded, 1); // 186, settling after the flood
  assert.equal(outcome.benign, 136); // judged minus 150, 151, 185 and 186
  assert.equal(outcome.swept, true);
  assert.deepEqual(outcome.problems, []);

  const [listener, flood] = outcome.episodes;
  assert.equal(listener!.rounds, 2);
  assert.deepEqual(listener!.methods, {
    pad: { detected: true, delay: 1, flagged: 1 }, // 150 scored 4 < 5, 151 scored 9
    original: { detected: true, delay: 1, flagged: 1 }, // 151 is the top of the batch 120–179
    newPort: { detected: true, delay: 0, flagged: 1 }, // tcp/41234 is new in 150
    newLowPort: { detected: false, delay: null, flagged: 0 }, // but in the ephemeral range
    newListener: { detected: true, delay: 0, flagged: 1 },
  });
  assert.deepEqual(listener!.padPeak, { score: 9, threshold: 5 });
  assert.deepEqual(listener!.incidents, ["new TCP listener on 41234"]);
  assert.deepEqual(flood!.incidents, ["SYN flood on tcp/22"]);
  // The false alarm's incident, in 136 benign rounds of 55 s.
  assert.deepEqual(outcome.benignIncidents, {
    count: 1,
    benignMs: 136 * 55_000,
    summaries: ["unusual traffic on tcp/22"],
  });
  assert.deepEqual(flood!.methods, {
    pad: { detected: true, delay: 0, flagged: 1 },
    original: { detected: true, delay: 0, flagged: 1 }, // top of the batch 180–239
    newPort: { detected: false, delay: null, flagged: 0 },
    newLowPort: { detected: false, delay: null, flagged: 0 },
    newListener: { detected: false, delay: null, flagged: 0 },
  });

  assert.deepEqual(outcome.falseAlarms, {
    pad: { flagged: 1, benign: 136 }, // round 130
    original: { flagged: 1, benign: 136 }, // round 250, top of the batch 240–259
    newPort: { flagged: 2, benign: 136 }, // 140 (udp/5353 traffic) and 170 (tcp/50000)
    newLowPort: { flagged: 1, benign: 136 }, // 140 only: 50000 is a client's port
    newListener: { flagged: 0, benign: 136 }, // neither is a listener
  });
  assert.equal(perThousand(outcome.falseAlarms.newPort)?.toFixed(2), "14.71");
});

Deno.test("markdownTable() shows each anomaly row and the false alarms with their counts", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  using db = disposable(openDatabase(path));
  seedHost(db.db);
  const summary = summarize([scoreOpenDatabase(db.db, { ...LABELS, db: path })]);
  const lines = markdownTable(summary).trim().split("\n");
  assert.deepEqual(lines, [
    "| scenarios | anomaly | episodes | pad incidents | pad | original's rule | new port | new port below 32768 | new listener |",
    "| --- | --- | ---: | --- | --- | --- | --- | --- | --- |",
    "| test | new listener | 1 | 1 | detected, delay 1 | detected, delay 1 | detected, delay 0 | missed | detected, delay 0 |",
    "| test | flood | 1 | 1 | detected, delay 0 | detected, delay 0 | missed | missed | missed |",
    "| test | false alarms per 1,000 benign rounds | | 11.6 per day (1 in 2.1 h) | 7.4 (1 of 136) | 7.4 (1 of 136) | 14.7 (2 of 136) | 7.4 (1 of 136) | 0.0 (0 of 136) |",
  ]);
});

Deno.test("targets() checks first-round detection, the false-alarm rate and each baseline", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  using db = disposable(openDatabase(path));
  seedHost(db.db);
  const lines = targets(summarize([scoreOpenDatabase(db.db, { ...LABELS, db: path })]));
  assert.deepEqual(lines.map((l) => l.split(":")[0]), [
    "NOT met", // the listener was flagged one round late
    "NOT met", // 1 of 136 is 7.35 per 1,000
    "met", // one incident each
    "NOT met", // 1 incident in 2.1 hours of benign rounds: 11.6 a day
    "NOT met", // the original's rule did exactly as well here: 1 − 1/136 each
    "met", // new port: 1/2 − 2/136
    "met", // new port below 32768: 0/2 − 1/136
    "met", // new listener: 1/2 − 0
  ]);
  assert.match(lines[0]!, /not so for test: new listener$/);
  assert.match(lines[1]!, /pad: 7\.35, 1 of 136; too few benign rounds to tell/);
  assert.match(lines[3]!, /at most 1 incident per day of benign rounds \(11\.55: 1 in 2\.1 h\)/);
  assert.match(lines[4]!, /detected 2 vs 2 of 2 \(in their first round 1 vs 1\)/);
  assert.match(lines[5]!, /new port: detected 2 vs 1 of 2 .* 0\.993 vs 0\.485$/);
});

Deno.test("summarize() adds up episodes of one type and false alarms across databases", () => {
  using dir = tempDir();
  const outcomes = ["replay a: x", "replay a: y", "live"].map((name, i) => {
    const path = `${dir.path}/pad${i}.db`;
    using db = disposable(openDatabase(path));
    seedHost(db.db);
    return scoreOpenDatabase(db.db, { ...LABELS, name, db: path });
  });
  const summary = summarize(outcomes);
  assert.deepEqual(
    summary.rows.map((r) => [r.group, r.type, r.episodes, r.detected.pad, r.delays.pad]),
    [
      ["replay a", "new listener", 2, 2, [1, 1]],
      ["replay a", "flood", 2, 2, [0, 0]],
      ["live", "new listener", 1, 1, [1]],
      ["live", "flood", 1, 1, [0]],
    ],
  );
  assert.deepEqual(
    summary.falseAlarms.map((f) => [f.group, f.counts.pad.flagged, f.counts.pad.benign]),
    [["replay a", 2, 272], ["live", 1, 136], ["all", 3, 408]],
  );
  assert.match(
    markdownTable(summary),
    /\| replay a \| new listener \| 2 \| 1, 1 \| 2\/2 detected, delays 1, 1 \|/,
  );
});

Deno.test("scoreDatabase() says why when pad judged nothing, and never divides by zero", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  using db = disposable(openDatabase(path));
  // Imported rounds without sweeps, scored only in warm-up: a history too short for detect.
  const ids = storeRoundHistory(
    db.db,
    Array.from({ length: 90 }, (_, i) => ({
      id: 0,
      startTime: at(i),
      occupied: [],
      traffic: [],
      dns: { queries: 0, maxNameLength: 0, meanNameLength: 0 },
      attempts: NO_ATTEMPTS,
      captured: true,
    })),
  );
  db.db.prepare("DELETE FROM rounds_ports").run();
  const score = db.db.prepare(
    "INSERT INTO round_scores (round_id, scored_at, score, verdict) VALUES (?, 0, ?, 'warmup')",
  );
  for (const [i, id] of ids.entries()) score.run(id, i < 60 ? null : 1);

  const early = { type: "scan", start: at(70), end: at(70) + 1, settled: at(70) + 1, command: "" };
  const outcome = scoreOpenDatabase(db.db, {
    name: "live",
    db: path,
    episodes: [LABELS.episodes[1]!, early],
  });
  assert.equal(outcome.judged, 0);
  assert.equal(outcome.swept, false);
  assert.equal(outcome.episodes[0]!.methods, null);
  assert.equal(outcome.episodes[1]!.methods, null);
  assert.equal(outcome.episodes[1]!.rounds, 1);
  assert.equal(outcome.problems.length, 3);
  assert.match(outcome.problems[0]!, /pad judged no rounds \(90 complete, 90 scored\)/);
  assert.match(outcome.problems[1]!, /episode "flood" .* has no rounds: not counted/);
  assert.match(outcome.problems[2]!, /episode "scan" .* has no judged rounds \(warm-up\)/);

  const summary = summarize([outcome]);
  assert.equal(perThousand(summary.falseAlarms[0]!.counts.pad), null);
  const table = markdownTable(summary);
  assert.doesNotMatch(table, /NaN|Infinity|new listener/);
  assert.match(table, /\| live \| flood \| 0 \| – \| not judged \| not judged \| not judged \|/);
  assert.match(
    table,
    /\| live \| false alarms per 1,000 benign rounds \| \| – \| no benign rounds judged \|/,
  );
});

function disposable(db: Database): { db: Database } & Disposable {
  return { db, [Symbol.dispose]: () => db.close() };
}

Deno.test("a benign change is a hard negative: its flagged rounds and incidents are counted, not detections, and those after the accept told apart", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  using db = disposable(openDatabase(path));
  seedHost(db.db);
  // The listener of rounds 150–151 was a service started on purpose, accepted at round 160;
  // round 185's flood stands for the same service misbehaving later.
  const joined: LabelledDatabase = {
    name: "replay joined: a service",
    db: path,
    episodes: [{
      type: "a service starts for good",
      start: at(150),
      end: at(260),
      settled: at(260),
      command: "",
      benign: true,
      acceptedAt: at(160),
    }],
  };
  const outcome = scoreOpenDatabase(db.db, joined);
  const [episode] = outcome.episodes;
  assert.equal(episode!.benign, true);
  assert.deepEqual(episode!.incidents, ["new TCP listener on 41234", "SYN flood on tcp/22"]);
  assert.deepEqual(episode!.afterAccept, ["SYN flood on tcp/22"]);
  const summary = summarize([outcome]);
  assert.match(
    markdownTable(summary),
    /\| replay joined \| a service starts for good \| 1 \| 2, 1 after the accept \| 2 of 110 rounds flagged \|/,
  );
  const lines = targets(summary);
  assert.ok(
    lines.includes(
      "NOT met: replay joined: a service starts for good: at most 2 incidents, and none after " +
        "the accept (2, 1 after the accept)",
    ),
    lines.join("\n"),
  );
  // With no attack episode, nothing else is claimed.
  assert.match(lines[0]!, /^not known/);
});
