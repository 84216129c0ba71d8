import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runDetect } from "../src/commands/detect.ts";
import { runReport } from "../src/commands/report.ts";
import { BufferOutput } from "../src/output.ts";
import { LIMITS, loadReport } from "../src/store/report.ts";
import { html, raw } from "../src/report/markup.ts";
import { openDatabase, openDatabaseReadOnly } from "../src/store/database.ts";
import {
  type AnomalyPort,
  type RoundScore,
  saveModel,
  storeScores,
} from "../src/store/detections.ts";
import type { RoundData } from "../src/round.ts";
import { type FlaggedRecord, NO_IGNORE_RULES, recordIncidents } from "../src/detect/incidents.ts";
import {
  chromiumAvailable,
  decodePng,
  dumpDom,
  imageStats,
  screenshot,
} from "./support/chromium.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import {
  generateHistory,
  HISTORY_START,
  injectInboundScan,
  injectListener,
} from "../fixtures/synthetic.ts";

const DAY = 86_400_000;
const SINCE = new Date(HISTORY_START).toISOString();
const UNTIL = new Date(HISTORY_START + DAY).toISOString();
const SECTIONS = ["incidents", "scores", "anomalies", "heatmap", "traffic", "models"];
const CHARTS = ["scores", "heatmap", "traffic", "models"];

const noChromium = !chromiumAvailable();
if (noChromium) {
  console.warn(
    "/usr/bin/chromium is absent: the report's browser tests are ignored (apt-get install chromium)",
  );
}

/** The markup of `<section id="ID">` up to its end. */
function sectionOf(page: string, id: string): string {
  const start = page.indexOf(`<section id="${id}"`);
  assert.ok(start >= 0, `no section #${id}`);
  return page.slice(start, page.indexOf("</section>", start));
}

function occurrences(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

/** Every reference the page would follow: src, href and url() that are not anchors. */
function externalReferences(page: string): string[] {
  const found: string[] = [];
  // Only inside tags and style sheets: escaped text such as `&lt;img src=…` is no reference.
  const tags = page.match(/<[^>]*>/g) ?? [];
  const sheets = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
  for (const tag of tags) {
    const attributes = /\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?\s*([^"'\s>]*)/gi;
    for (const match of tag.matchAll(attributes)) {
      if (!match[1]!.startsWith("#")) found.push(match[0]);
    }
  }
  for (const text of [...tags, ...sheets]) {
    for (const match of text.matchAll(/(?:url\(|@import)\s*["']?\s*([^"')\s;]*)/gi)) {
      if (!match[1]!.startsWith("#")) found.push(match[0]);
    }
  }
  return found;
}

function query(db: string, sql: string): Record<string, unknown>[] {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all().map((r) => ({ ...r }));
}

/** A model version as detect saves it; the report reads only its figures and metrics. */
function saveTestModel(db: DatabaseSync, rounds: RoundData[], threshold: number | null): number {
  return saveModel(db, {
    created: rounds.at(-1)!.startTime + 120_000,
    encoding: "test",
    topology: "[]",
    weights: new Uint8Array(8),
    config: "{}",
    threshold,
    thresholdState: "{}",
    roundsTrained: rounds.length,
    trainedUntil: rounds.at(-1)!.startTime,
    metrics: JSON.stringify({
      windows: rounds.length,
      trainWindows: rounds.length - 10,
      validationWindows: 10,
      epochs: 6,
      bestEpoch: 4,
      trainLoss: [0.01, 0.005, 0.003, 0.002, 0.0021, 0.0022],
      validationLoss: [0.012, 0.006, 0.004, 0.0025, 0.0026, 0.0027],
      stoppedEarly: true,
      seconds: 3.2,
    }),
  });
}

/**
 * A database of `rounds` with verdicts stored as detect stores them: the first 60 in warm-up,
 * the rest normal at a threshold of 10 except `flagged` (index → ports behind it).
 */
function scoredDatabase(
  path: string,
  rounds: RoundData[],
  flagged: Map<number, AnomalyPort[]>,
): void {
  using db = openDatabase(path);
  const ids = storeRoundHistory(db, rounds);
  const model = saveTestModel(db, rounds, 10);
  const scores: RoundScore[] = ids.map((roundId, i) => {
    if (i < 60) {
      return {
        roundId,
        score: i < 10 ? null : 2 + (i % 5) / 4,
        threshold: null,
        verdict: "warmup",
      };
    }
    const ports = flagged.get(i);
    return ports
      ? { roundId, score: 40 + i % 7, threshold: 10, verdict: "anomaly", ports }
      : { roundId, score: 1 + (i % 9) / 3, threshold: 10, verdict: "normal" };
  });
  const now = rounds.at(-1)!.startTime + 60_000;
  const anomalyIds = storeScores(db, model, now, scores);
  // Incidents as detect forms them: here every flagged round's cause is its worst port.
  const records: FlaggedRecord[] = scores.filter((s) => s.verdict === "anomaly").map((s) => {
    const round = rounds[s.roundId - ids[0]!]!;
    const top = s.ports![0]!;
    return {
      roundId: s.roundId,
      anomalyId: anomalyIds.get(s.roundId)!,
      startTime: round.startTime,
      endTime: round.endTime ?? round.startTime + 60_000,
      score: s.score,
      modelVersion: model,
      cause: {
        kind: "traffic",
        key: `traffic ${top.protocol}/${top.port}`,
        summary: `unusual traffic on ${top.protocol}/${top.port}`,
        ports: s.ports!.map((p) => ({
          protocol: p.protocol,
          port: p.port,
          command: p.command ?? null,
          pid: p.pid ?? null,
        })),
        peers: [],
      },
    };
  });
  recordIncidents(db, records, { quietSpellMs: 30 * 60_000, ignore: NO_IGNORE_RULES }, now);
}

Deno.test("html`` escapes what it interpolates and keeps markup it built", () => {
  const name = `<script>alert("x")</script> & 'q'`;
  assert.equal(
    html`<td title="${name}">${name}</td>`.text,
    `<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;">` +
      `&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</td>`,
  );
  assert.equal(
    html`<ul>${["a<", html`<li>b</li>`, null, 3]}</ul>`.text,
    "<ul>a&lt;<li>b</li>3</ul>",
  );
  assert.equal(html`${raw("<b>")}`.text, "<b>");
});

Deno.test({
  name:
    "pad report draws a real detect history: every section, one marker per anomaly, the planted port, a page that is not blank",
  ignore: noChromium,
  async fn() {
    using dir = tempDir();
    const db = `${dir.path}/pad.db`;
    const rounds = generateHistory({ rounds: 180, seed: 11 });
    rounds[160] = injectListener(rounds[160]!);
    {
      using conn = openDatabase(db);
      storeRoundHistory(conn, rounds);
    }
    await runDetect(
      { db, warmup: 60, seed: 1, rescore: false, maxEpochs: 20, format: "text" },
      new BufferOutput(),
    );
    const anomalies = query(db, "SELECT count(*) AS n FROM anomalies")[0]!.n as number;
    assert.ok(anomalies >= 1, "detect flagged nothing: the fixture no longer plants an anomaly");

    const output = `${dir.path}/report.html`;
    const run = await runPad([
      "--db",
      db,
      "report",
      "-o",
      output,
      "--since",
      SINCE,
      "--until",
      UNTIL,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      `Wrote ${output}: 180 rounds, 1 incident (${anomalies} flagged ` +
        `round${anomalies === 1 ? "" : "s"}) from 2026-03-02 00:00:00Z to 2026-03-03 00:00:00Z\n`,
    );
    assert.deepEqual(
      [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes("report")),
      ["report.html"],
      "the temporary file was not renamed away",
    );

    const page = Deno.readTextFileSync(output);
    assert.deepEqual(externalReferences(page), []);
    assert.doesNotMatch(page, /https?:/);
    assert.doesNotMatch(page, /<script|<link|<img|<iframe/i);

    const dom = await dumpDom(output);
    for (const id of SECTIONS) sectionOf(dom, id);
    for (const id of CHARTS) {
      assert.match(sectionOf(dom, id), /<svg class="chart"/, `#${id} has no chart`);
    }
    assert.equal(occurrences(sectionOf(dom, "scores"), /class="anomaly-marker"/), anomalies);
    const table = sectionOf(dom, "anomalies");
    assert.equal(occurrences(table, /class="anomaly-row"/), anomalies);
    assert.match(
      table,
      /<span class="port">tcp\/41234<\/span> <span class="process">nc 6666<\/span>/,
    );
    assert.match(table, /<td class="time">2026-03-02 02:40:00Z<\/td><td class="num">161<\/td>/);
    assert.match(sectionOf(dom, "scores"), /class="warmup-band"/);
    assert.match(sectionOf(dom, "scores"), /class="threshold"/);
    const heatmap = sectionOf(dom, "heatmap");
    assert.ok(occurrences(heatmap, /class="heat-row"/) <= LIMITS.heatmapRows);
    assert.match(heatmap, /class="port-label flagged">tcp\/41234</);
    const versions = query(db, "SELECT count(*) AS n FROM models")[0]!.n as number;
    assert.match(dom, new RegExp(`Model training history \\(${versions} versions\\)`));

    const image = await decodePng(await screenshot(output, 1280, 2000));
    assert.deepEqual([image.width, image.height], [1280, 2000]);
    const stats = imageStats(image);
    assert.ok(stats.colours >= 200, `only ${stats.colours} colours: is the page blank?`);
    assert.ok(stats.notBackground >= 0.15, `only ${stats.notBackground} of the page is drawn`);
  },
});

Deno.test({
  name: "the PNG decoder reads Chromium's pixels where the page put them",
  ignore: noChromium,
  async fn() {
    using dir = tempDir();
    const file = `${dir.path}/square.html`;
    Deno.writeTextFileSync(
      file,
      `<!DOCTYPE html><body style="margin:0;background:#fff"><div style="margin:40px 0 0 100px;` +
        `width:60px;height:30px;background:rgb(200,30,90)"></div></body>`,
    );
    const image = await decodePng(await screenshot(file, 320, 200));
    const at = (x: number, y: number) => {
      const i = (y * image.width + x) * image.channels;
      return [...image.pixels.subarray(i, i + 3)];
    };
    assert.deepEqual(at(130, 55), [200, 30, 90]);
    assert.deepEqual(at(10, 10), [255, 255, 255]);
    assert.deepEqual(at(170, 55), [255, 255, 255]);
    assert.deepEqual(imageStats(image).colours, 2);
  },
});

Deno.test("every text from the database is escaped: a process named <script> stays text", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/a&b<c>`);
  const db = `${dir.path}/a&b<c>/pad.db`;
  const evil = `<script>alert("pad")</script> & co`;
  const rounds = generateHistory({ rounds: 120, seed: 3 });
  rounds[100] = injectListener(rounds[100]!, 41_234);
  rounds[100]!.occupied.at(-1)!.command = evil;
  scoredDatabase(
    db,
    rounds,
    new Map([[100, [{ port: 41_234, protocol: "tcp", error: 80, pid: 6666, command: evil }]]]),
  );
  {
    using conn = new DatabaseSync(db);
    conn.prepare("UPDATE rounds SET capture_off = ? WHERE id = 5").run(`<img src="x"> off`);
  }
  const output = `${dir.path}/report.html`;
  runReport({ db, output, since: HISTORY_START, until: HISTORY_START + DAY }, new BufferOutput());

  const page = Deno.readTextFileSync(output);
  assert.doesNotMatch(page, /<script|<img/i);
  assert.match(page, /&lt;script&gt;alert\(&quot;pad&quot;\)&lt;\/script&gt; &amp; co/);
  assert.match(page, /<q>&lt;img src=&quot;x&quot;&gt; off<\/q>/);
  assert.match(page, /<code>[^<]*a&amp;b&lt;c&gt;\/pad\.db<\/code>/);
  assert.deepEqual(externalReferences(page), []);
  if (noChromium) return;
  const dom = await dumpDom(output);
  assert.doesNotMatch(dom, /<script|<img/i);
  assert.match(
    sectionOf(dom, "anomalies"),
    /&lt;script&gt;alert\("pad"\)&lt;\/script&gt; &amp; co 6666/,
  );
  assert.match(sectionOf(dom, "heatmap"), /&lt;script&gt;alert\("pad"\)&lt;\/script&gt; &amp; co/);
});

Deno.test("an empty range still writes a report, which says there is nothing in it and where the rounds are", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  scoredDatabase(db, generateHistory({ rounds: 90, seed: 4 }), new Map());
  const output = `${dir.path}/empty.html`;
  const out = new BufferOutput();
  const since = Date.UTC(2025, 0, 1);
  const result = runReport({ db, output, since, until: since + DAY }, out);
  assert.deepEqual(result, { output, rounds: 0, incidents: 0, anomalies: 0 });
  assert.equal(
    out.text,
    `Wrote ${output}: 0 rounds, 0 incidents (0 flagged rounds) from 2025-01-01 00:00:00Z to 2025-01-02 00:00:00Z\n`,
  );
  const page = Deno.readTextFileSync(output);
  assert.match(
    page,
    /id="nothing">Nothing in this range: no rounds between 2025-01-01 00:00:00Z and 2025-01-02 00:00:00Z\. The database holds 90 rounds, from 2026-03-02 00:00:00Z to 2026-03-02 01:29:00Z/,
  );
  for (const id of SECTIONS) assert.match(sectionOf(page, id), /class="empty"/);
  assert.doesNotMatch(page, /<svg/);

  // A database without any round says so too.
  const fresh = `${dir.path}/fresh.db`;
  openDatabase(fresh).close();
  runReport({ db: fresh, output, since, until: since + DAY }, new BufferOutput());
  assert.match(
    Deno.readTextFileSync(output),
    /The database holds no rounds yet: pad collect writes them\./,
  );
  if (noChromium) return;
  const dom = await dumpDom(output);
  for (const id of SECTIONS) sectionOf(dom, id);
});

Deno.test("pad report without a database: one clear error, exit 1, and neither report nor database created", async () => {
  using dir = tempDir();
  const db = `${dir.path}/missing.db`;
  const output = `${dir.path}/report.html`;
  const run = await runPad(["--db", db, "report", "-o", output]);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.match(
    run.stderr,
    /No database at .*missing\.db: run "pad init" or "pad collect" first, or pass --db PATH/,
  );
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("pad report refuses --since after --until (exit 2) and an output directory that does not exist (exit 1)", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  openDatabase(db).close();
  const backwards = await runPad([
    "--db",
    db,
    "report",
    "-o",
    `${dir.path}/r.html`,
    "--since",
    "2026-03-03",
    "--until",
    "2026-03-02",
  ]);
  assert.equal(backwards.code, 2);
  assert.match(
    backwards.stderr,
    /--since 2026-03-03 00:00:00Z is not before --until 2026-03-02 00:00:00Z/,
  );
  const nowhere = await runPad(["--db", db, "report", "-o", `${dir.path}/no/such/dir/r.html`]);
  assert.equal(nowhere.code, 1);
  assert.match(
    nowhere.stderr,
    /Cannot write .*no\/such\/dir\/r\.html: the directory .*does not exist; create it/,
  );
  const others = [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) =>
    !n.startsWith("pad.db")
  );
  assert.deepEqual(others, []);
});

Deno.test("pad report never writes over its own database", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  scoredDatabase(db, generateHistory({ rounds: 70, seed: 8 }), new Map());
  const before = Deno.readFileSync(db);
  const run = await runPad(["--db", db, "report", "-o", db]);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /Invalid -o ".*pad\.db": it is pad's database or one of its files \(.*pad\.db\); choose another file/,
  );
  assert.deepEqual(Deno.readFileSync(db), before);
});

Deno.test("rounds that detect has not scored yet: the charts of what collect stored, and a word on scores and models", () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  {
    using conn = openDatabase(db);
    storeRoundHistory(conn, generateHistory({ rounds: 30, seed: 10 }));
  }
  const output = `${dir.path}/report.html`;
  runReport({ db, output, since: HISTORY_START, until: HISTORY_START + DAY }, new BufferOutput());
  const page = Deno.readTextFileSync(output);
  assert.match(page, /30 \(30 complete; 0 scored, 30 not scored yet \(pad detect scores them\)\)/);
  assert.match(sectionOf(page, "scores"), /No round of this range has been scored yet/);
  assert.match(sectionOf(page, "anomalies"), /No anomalies in this range\./);
  assert.match(sectionOf(page, "models"), /No model yet: pad detect trains one\./);
  for (const id of ["heatmap", "traffic"]) assert.match(sectionOf(page, id), /<svg class="chart"/);
});

Deno.test("a report replaces the previous file whole and leaves no temporary file", () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  scoredDatabase(db, generateHistory({ rounds: 70, seed: 6 }), new Map());
  const output = `${dir.path}/report.html`;
  Deno.writeTextFileSync(output, "the previous report");
  runReport({ db, output, since: HISTORY_START, until: HISTORY_START + DAY }, new BufferOutput());
  assert.match(Deno.readTextFileSync(output), /^<!DOCTYPE html>[\s\S]*<\/html>\n$/);
  assert.deepEqual([...Deno.readDirSync(dir.path)].filter((e) => e.name.endsWith(".tmp")), []);
});

Deno.test("a day of rounds: every round in the score chart, at most 40 heatmap rows and 200 columns, anomaly ports first, 500 anomalies listed", () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const rounds = generateHistory({ rounds: 1440, seed: 9 });
  rounds[700] = injectListener(rounds[700]!, 41_234);
  rounds[900] = injectInboundScan(rounds[900]!, 9, 300);
  const flagged = new Map<number, AnomalyPort[]>();
  // The scan: 30 ports behind it, the worst first.
  flagged.set(
    900,
    Array.from({ length: 30 }, (_, k) => ({ port: 2000 + k, protocol: "tcp", error: 30 - k })),
  );
  // A flood that lasts: 520 rounds flagged, each on udp/53.
  for (let i = 910; i < 1430; i++) {
    flagged.set(i, [{ port: 53, protocol: "udp", error: 5, pid: 640, command: "dnsmasq" }]);
  }
  scoredDatabase(db, rounds, flagged);

  using conn = openDatabaseReadOnly(db);
  const data = loadReport(conn, { since: HISTORY_START, until: HISTORY_START + DAY });
  assert.equal(data.rounds.total, 1440);
  assert.equal(data.scores.buckets.bucketMs, 60_000);
  assert.equal(data.scores.rows.length, 1440);
  assert.ok(data.scores.rows.every((r) => r.rounds === 1));
  assert.equal(data.heatmap.rows.length, LIMITS.heatmapRows);
  assert.ok(data.heatmap.columns <= LIMITS.heatmapColumns);
  assert.equal(data.heatmap.bucketMs, 10 * 60_000); // a day in 144 columns of 10 minutes
  assert.equal(data.heatmap.columns, 144);
  const rows = new Map(data.heatmap.rows.map((r) => [`${r.protocol}/${r.port}`, r]));
  // 20 rows for the ports incidents name: the flood's, then the scan's worst 19.
  assert.equal(rows.get("udp/53")?.reason, "anomaly");
  for (let k = 0; k < 19; k++) assert.equal(rows.get(`tcp/${2000 + k}`)?.reason, "anomaly");
  assert.notEqual(rows.get("tcp/2019")?.reason, "anomaly");
  assert.equal(rows.get("tcp/41234")?.reason, "listener"); // seen in one round of 1,440
  assert.equal(rows.get("tcp/443")?.reason, "traffic");
  assert.equal(rows.get("tcp/443")?.command, "nginx");
  const total = rows.get("tcp/443")!.packets.reduce((a, b) => a + b, 0);
  const exact = rounds.flatMap((r) => r.traffic).filter((t) =>
    t.port === 443 && t.protocol === "tcp"
  )
    .reduce((sum, t) => sum + t.packets, 0);
  assert.equal(total, exact);

  assert.equal(data.anomalies.total, 521);
  assert.equal(data.anomalies.markers.length, 521);
  assert.equal(data.anomalies.listed.length, LIMITS.listedAnomalies);
  const scan = data.anomalies.listed.find((a) => a.roundId === 901)!;
  assert.deepEqual(scan.ports.map((p) => p.port), [2000, 2001, 2002, 2003, 2004]);
  assert.equal(scan.morePorts, 25);

  const output = `${dir.path}/day.html`;
  runReport({ db, output, since: HISTORY_START, until: HISTORY_START + DAY }, new BufferOutput());
  const page = Deno.readTextFileSync(output);
  // The scan and the flood: two incidents, newest first, before any chart.
  assert.deepEqual(data.incidents.map((i) => [i.rounds, i.ports.length]), [[520, 1], [1, 30]]);
  assert.ok(page.indexOf('id="incidents"') < page.indexOf('id="scores"'));
  assert.equal(occurrences(sectionOf(page, "incidents"), /class="incident-row/), 2);
  assert.match(sectionOf(page, "incidents"), /unusual traffic on udp\/53[^]*udp\/53 \(dnsmasq\)/);
  assert.equal(occurrences(page, /class="anomaly-marker"/), 521);
  assert.equal(occurrences(page, /class="anomaly-row"/), 500);
  assert.match(page, /The first 500 of 521 are listed/);
  assert.match(page, /\+25 more/);
});

Deno.test("an anomaly flagged for a new listener says so in the anomalies table", () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const rounds = generateHistory({ rounds: 120, seed: 5 });
  const port = { port: 4444, protocol: "tcp", error: 1, pid: 77, command: "ncat" };
  scoredDatabase(db, rounds, new Map([[90, [port]], [100, [{ ...port, port: 5555 }]]]));
  {
    using conn = new DatabaseSync(db);
    conn.prepare("UPDATE anomalies SET reason = 'new listener' WHERE round_id = 91").run();
  }
  const output = `${dir.path}/report.html`;
  runReport({ db, output, since: HISTORY_START, until: HISTORY_START + DAY }, new BufferOutput());
  const rows = Deno.readTextFileSync(output).match(/<tr id="anomaly-[^]*?<\/tr>/g) ?? [];
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /data-round="91"[^]*a new listener[^]*tcp\/4444/);
  assert.doesNotMatch(rows[1]!, /a new listener/);
});
