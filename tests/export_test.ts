import assert from "node:assert/strict";
import { writePrometheusFile } from "../src/fleet/prometheus.ts";
import { openDatabase } from "../src/store/database.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { seedRounds } from "./support/seed.ts";

/** One sample line of an exposition, parsed. */
interface ParsedSample {
  labels: Record<string, string>;
  value: number;
}

const HELP = /^# HELP (pad_[a-z0-9_]+) (\S.*)$/;
const TYPE = /^# TYPE (pad_[a-z0-9_]+) (counter|gauge)$/;
const SAMPLE = /^(pad_[a-z0-9_]+)(\{[^}]*\})? (\S+)$/;
const LABEL = /([a-z_][a-z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/y;

/**
 * Parses node_exporter textfile content strictly: every family is HELP, TYPE, then its samples;
 * names are pad_…, counters end in _total, no family or label set twice, finite values, no
 * timestamps, and every sample labelled with the database. Returns the samples by metric name.
 */
function parseExposition(text: string, db: string): Map<string, ParsedSample[]> {
  assert.ok(text.endsWith("\n"), "the file ends with a newline");
  const families = new Map<string, ParsedSample[]>();
  const lines = text.slice(0, -1).split("\n");
  let current: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const help = HELP.exec(line);
    if (help) {
      const type = TYPE.exec(lines[i + 1] ?? "");
      assert.ok(type && type[1] === help[1], `HELP then TYPE for ${help[1]}: ${lines[i + 1]}`);
      assert.ok(!families.has(help[1]!), `${help[1]} appears once`);
      if (type[2] === "counter") assert.match(help[1]!, /_total$/);
      current = help[1]!;
      families.set(current, []);
      i++;
      continue;
    }
    const sample = SAMPLE.exec(line);
    assert.ok(sample, `a sample line: ${JSON.stringify(line)}`);
    assert.equal(sample[1], current, `sample of the family above it: ${line}`);
    const labels: Record<string, string> = {};
    const body = sample[2]?.slice(1, -1) ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const match = LABEL.exec(body);
      assert.ok(match, `labels of ${line}`);
      labels[match[1]!] = match[2]!.replaceAll('\\"', '"').replaceAll("\\n", "\n")
        .replaceAll("\\\\", "\\");
    }
    assert.equal(labels.db, db, `db label of ${line}`);
    const value = Number(sample[3]);
    assert.ok(Number.isFinite(value), `finite value: ${line}`);
    const samples = families.get(current!)!;
    const key = JSON.stringify(labels);
    assert.ok(!samples.some((s) => JSON.stringify(s.labels) === key), `unique: ${line}`);
    samples.push({ labels, value });
  }
  for (const [name, samples] of families) assert.ok(samples.length > 0, `${name} has samples`);
  return families;
}

/** The value of a metric (with `labels` among its labels); undefined when absent. */
function valueOf(
  metrics: Map<string, ParsedSample[]>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return metrics.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

const PROMTOOL = (() => {
  try {
    return new Deno.Command("promtool", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!PROMTOOL) {
  console.warn("promtool not found (Debian: apt-get install prometheus): its check is skipped");
}

/** `promtool check metrics` on the text: parse errors and lint problems fail. */
async function promtoolCheck(text: string): Promise<void> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const said = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `promtool check metrics:\n${said}\n${text}`);
}

/** Runs pad with umask 077, as a careful root's cron would. */
function padUmask077(args: string[]) {
  return runPad(args, { prefix: ["/bin/sh", "-c", 'umask 077 && exec "$@"', "sh"] });
}

function leftovers(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp-"));
}

/** A database with live rounds, capture statistics, scores, anomalies and two model versions. */
function seedDetected(path: string, now: number): { lastEnd: number } {
  using db = openDatabase(path);
  const start = now - 10 * 60_000;
  const ids = seedRounds(
    db,
    Array.from({ length: 6 }, (_, i) => ({ start: start + i * 60_000, ports: [22, 80, 443] })),
  );
  const last = ids[ids.length - 1]!;
  // A newer open round (being collected) and a newer failed one are not "the last round".
  seedRounds(db, [{ start: now - 2 * 60_000, status: "failed", ports: [1] }]);
  seedRounds(db, [{ start: now - 60_000, status: "open", ports: [1, 2] }]);
  db.prepare("INSERT INTO ports (id, first_seen) VALUES (53, ?) ON CONFLICT DO NOTHING").run(now);
  db.prepare(
    "INSERT INTO rounds_ports (round_id, port_id, protocol, family, first_seen, last_seen) " +
      "VALUES (?, 53, 'udp', 6, ?, ?)",
  ).run(last, now, now);
  db.prepare(
    "UPDATE rounds SET interface = 'eth0', packets_seen = 5210, pcap_received = 5300, " +
      "pcap_dropped = 17, pcap_if_dropped = 2 WHERE id = ?",
  ).run(last);
  const model = db.prepare(
    "INSERT INTO models (created, encoding, topology, weights, config, threshold, " +
      "threshold_state, rounds_trained, trained_until) VALUES (?, 'e', '[]', x'00', '{}', ?, " +
      "'{}', ?, ?) RETURNING id",
  );
  model.get(now - 7_200_000, null, 60, start);
  const version = Number(model.get(now - 3_600_000, 9.871, 120, start)!.id);
  const score = db.prepare(
    "INSERT INTO round_scores (round_id, model_id, scored_at, score, threshold, verdict) " +
      "VALUES (?, ?, ?, ?, ?, ?)",
  );
  const anomaly = db.prepare(
    "INSERT INTO anomalies (round_id, detected_at, score, threshold, model_id) " +
      "VALUES (?, ?, ?, 9.871, ?)",
  );
  ids.forEach((id, i) => {
    const value = i === 2 || i === 4 ? 104.2 + i : 1.5 + i / 8;
    score.run(id, version, now, value, 9.871, value > 9.871 ? "anomaly" : "normal");
    if (value > 9.871) anomaly.run(id, now, value, version);
  });
  return { lastEnd: start + 5 * 60_000 + 55_000 };
}

Deno.test("pad export on a new database: counters at 0, nothing made up about rounds or a model", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/pad.prom`;
  assert.equal((await runPad(["--db", db, "init"])).code, 0);
  const before = Deno.readFileSync(db);
  const run = await padUmask077(["--db", db, "export", "--prometheus", file]);
  assert.equal(run.code, 0, run.stderr);
  // Two counters, an open-incident gauge for each of the 11 kinds, the incident counter.
  assert.match(run.stdout, /^Wrote 14 Prometheus samples to .*pad\.prom\n$/);
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o644, "node_exporter, another user, reads it");
  const metrics = parseExposition(Deno.readTextFileSync(file), db);
  assert.deepEqual([...metrics.keys()], [
    "pad_rounds_total",
    "pad_anomalies_total",
    "pad_incidents_open",
    "pad_incidents_total",
  ]);
  assert.equal(valueOf(metrics, "pad_rounds_total"), 0);
  assert.equal(valueOf(metrics, "pad_anomalies_total"), 0);
  assert.equal(valueOf(metrics, "pad_incidents_open", { kind: "outbound scan" }), 0);
  assert.equal(valueOf(metrics, "pad_incidents_total"), 0);
  assert.deepEqual(Deno.readFileSync(db), before, "the database is only read");
  assert.deepEqual(leftovers(dir.path), []);
});

Deno.test("pad collect --prometheus refreshes the file with the round it just stored", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/pad.prom`;
  Deno.writeTextFileSync(file, "# stale\n");
  const staleInode = Deno.statSync(file).ino;
  // Known occupants, so the round's counts cannot all be zero.
  using _tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  using _udp = { [Symbol.dispose]: () => udp.close() };
  const run = await runPad([
    "--db",
    db,
    "collect",
    "--probe",
    "procfs",
    "--no-capture",
    "--duration",
    "1s",
    "--prometheus",
    file,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.notEqual(Deno.statSync(file).ino, staleInode, "replaced by a rename, not rewritten");
  const metrics = parseExposition(Deno.readTextFileSync(file), db);
  using check = openDatabase(db);
  const round = check.prepare("SELECT id, end_time FROM rounds").get()!;
  assert.equal(valueOf(metrics, "pad_rounds_total"), Number(round.id));
  assert.equal(
    valueOf(metrics, "pad_last_round_end_timestamp_seconds"),
    Number(round.end_time) / 1000,
  );
  const counts = check.prepare(
    "SELECT protocol, family, count(*) AS n FROM rounds_ports WHERE round_id = ? " +
      "GROUP BY protocol, family",
  ).all(Number(round.id));
  assert.equal(metrics.get("pad_last_round_ports_occupied")!.length, 4);
  for (const protocol of ["tcp", "udp"]) {
    for (const family of [4, 6]) {
      const stored = Number(
        counts.find((c) => c.protocol === protocol && c.family === family)?.n ?? 0,
      );
      const labels = { protocol, family: `ipv${family}` };
      assert.equal(valueOf(metrics, "pad_last_round_ports_occupied", labels), stored);
    }
  }
  assert.ok(
    valueOf(metrics, "pad_last_round_ports_occupied", { protocol: "tcp", family: "ipv4" })! >= 1,
  );
  assert.ok(
    valueOf(metrics, "pad_last_round_ports_occupied", { protocol: "udp", family: "ipv6" })! >= 1,
  );
  assert.equal(valueOf(metrics, "pad_last_round_capture"), 0);
  assert.equal(metrics.has("pad_last_round_packets"), false, "no packet count without capture");
  assert.equal(metrics.has("pad_last_round_packets_dropped"), false);
  assert.equal(metrics.has("pad_model_version"), false);
  assert.deepEqual(leftovers(dir.path), []);
});

Deno.test("pad export reports the last complete round's capture, the last score, anomalies and the model", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/pad.prom`;
  const now = Date.now();
  const { lastEnd } = seedDetected(db, now);
  const run = await runPad(["--db", db, "export", "--prometheus", file]);
  assert.equal(run.code, 0, run.stderr);
  const metrics = parseExposition(Deno.readTextFileSync(file), db);
  assert.equal(valueOf(metrics, "pad_rounds_total"), 8, "the newest id: open and failed included");
  assert.equal(valueOf(metrics, "pad_last_round_end_timestamp_seconds"), lastEnd / 1000);
  const ports = (protocol: string, family: string) =>
    valueOf(metrics, "pad_last_round_ports_occupied", { protocol, family });
  assert.deepEqual(
    [ports("tcp", "ipv4"), ports("tcp", "ipv6"), ports("udp", "ipv4"), ports("udp", "ipv6")],
    [3, 0, 0, 1],
  );
  assert.equal(valueOf(metrics, "pad_last_round_capture"), 1);
  assert.equal(valueOf(metrics, "pad_last_round_packets"), 5210);
  assert.equal(valueOf(metrics, "pad_last_round_packets_dropped", { by: "buffer" }), 17);
  assert.equal(valueOf(metrics, "pad_last_round_packets_dropped", { by: "interface" }), 2);
  assert.equal(valueOf(metrics, "pad_last_score"), 1.5 + 5 / 8);
  assert.equal(valueOf(metrics, "pad_last_threshold"), 9.871);
  assert.equal(
    valueOf(metrics, "pad_last_scored_round_start_timestamp_seconds"),
    (lastEnd - 55_000) / 1000,
  );
  assert.equal(valueOf(metrics, "pad_anomalies_total"), 2);
  assert.equal(valueOf(metrics, "pad_model_version"), 2);
  assert.equal(valueOf(metrics, "pad_model_trained_timestamp_seconds"), (now - 3_600_000) / 1000);

  // Pruning every anomaly away reads as a counter reset, never as a made-up value.
  {
    using write = openDatabase(db);
    write.exec("DELETE FROM anomalies");
  }
  writePrometheusFile(db, file);
  const after = parseExposition(Deno.readTextFileSync(file), db);
  assert.equal(valueOf(after, "pad_anomalies_total"), 0);
});

Deno.test("pad detect --prometheus refreshes the file: warm-up has a model but no score or threshold", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/pad.prom`;
  const start = Date.now() - 20 * 60_000;
  {
    using write = openDatabase(db);
    seedRounds(
      write,
      Array.from({ length: 12 }, (_, i) => ({ start: start + i * 60_000, ports: [22, 80] })),
    );
  }
  const before = Date.now();
  const run = await runPad(["--db", db, "detect", "--max-epochs", "1", "--prometheus", file]);
  assert.equal(run.code, 0, run.stderr);
  const metrics = parseExposition(Deno.readTextFileSync(file), db);
  assert.equal(valueOf(metrics, "pad_model_version"), 1);
  const trained = valueOf(metrics, "pad_model_trained_timestamp_seconds")!;
  assert.ok(trained * 1000 >= before && trained * 1000 <= Date.now(), `trained at ${trained}`);
  assert.equal(
    valueOf(metrics, "pad_last_scored_round_start_timestamp_seconds"),
    (start + 11 * 60_000) / 1000,
  );
  assert.equal(metrics.has("pad_last_score"), false, "warm-up before the first model: no score");
  assert.equal(metrics.has("pad_last_threshold"), false, "not calibrated: no threshold");
  assert.equal(valueOf(metrics, "pad_anomalies_total"), 0);
});

Deno.test("the file is replaced atomically: a reader in another thread never sees a part of it", async () => {
  using dir = tempDir();
  const small = `${dir.path}/small.db`;
  const large = `${dir.path}/large.db`;
  openDatabase(small).close();
  seedDetected(large, Date.now());
  const file = `${dir.path}/pad.prom`;
  writePrometheusFile(small, file);
  const expected = [Deno.readTextFileSync(file)];
  writePrometheusFile(large, file);
  expected.push(Deno.readTextFileSync(file));
  assert.ok(expected[1]!.length > 2 * expected[0]!.length);

  // The reader loops on its own thread until told to stop through shared memory (this thread
  // is busy writing synchronously and cannot answer messages meanwhile).
  const reader = `
    self.onmessage = ({ data: { file, expected, shared } }) => {
      const flags = new Int32Array(shared);
      let reads = 0;
      const bad = [];
      Atomics.store(flags, 1, 1);
      while (Atomics.load(flags, 0) === 0) {
        const text = Deno.readTextFileSync(file);
        reads++;
        if (!expected.includes(text) && bad.length < 3) bad.push(text);
      }
      self.postMessage({ reads, bad });
    };`;
  const url = URL.createObjectURL(new Blob([reader], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  const shared = new SharedArrayBuffer(8);
  const flags = new Int32Array(shared);
  const result = new Promise<{ reads: number; bad: string[] }>((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
  });
  worker.postMessage({ file, expected, shared });
  while (Atomics.load(flags, 1) === 0) await new Promise((r) => setTimeout(r, 5));

  const umask = Deno.umask(0o077);
  const inodes = new Set<number>();
  try {
    for (let i = 0; i < 200; i++) {
      writePrometheusFile(i % 2 === 0 ? small : large, file);
      inodes.add(Deno.statSync(file).ino!);
    }
  } finally {
    Deno.umask(umask);
    Atomics.store(flags, 0, 1);
  }
  const { reads, bad } = await result;
  worker.terminate();
  URL.revokeObjectURL(url);
  assert.deepEqual(bad, [], "every read was one whole version of the file");
  assert.ok(reads > 100, `the reader read while the writes ran (${reads} reads)`);
  assert.ok(inodes.size > 1, "each write is a new file renamed into place");
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o644, "0644 whatever the umask");
  assert.deepEqual(leftovers(dir.path), []);
});

Deno.test("pad export: a missing directory or database is one line, exit 1, and nothing written", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  assert.equal((await runPad(["--db", db, "init"])).code, 0);
  const noDir = await runPad(["--db", db, "export", "--prometheus", `${dir.path}/nope/pad.prom`]);
  assert.equal(noDir.code, 1);
  assert.match(noDir.stderr, /Cannot write .*nope\/pad\.prom: the directory .*nope does not exist/);
  assert.equal(noDir.stderr.trim().split("\n").length, 1, noDir.stderr);
  assert.equal(noDir.stdout, "");

  const file = `${dir.path}/pad.prom`;
  const noDb = await runPad(["--db", `${dir.path}/none.db`, "export", "--prometheus", file]);
  assert.equal(noDb.code, 1);
  assert.match(noDb.stderr, /No database at .*none\.db/);
  assert.equal(noDb.stderr.trim().split("\n").length, 1, noDb.stderr);
  assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
  assert.throws(() => Deno.statSync(`${dir.path}/none.db`), Deno.errors.NotFound);

  const misnamed = await runPad(["--db", db, "export", "--prometheus", `${dir.path}/pad.txt`]);
  assert.equal(misnamed.code, 0, misnamed.stderr);
  assert.match(misnamed.stderr, /textfile collector reads only \*\.prom files/);

  const missing = await runPad(["--db", db, "export"]);
  assert.equal(missing.code, 2, "--prometheus is required");
  assert.deepEqual(leftovers(dir.path), []);
});

Deno.test({
  name:
    "promtool check metrics accepts every export: empty, after a round, with scores and a model",
  ignore: !PROMTOOL,
  async fn() {
    using dir = tempDir();
    const empty = `${dir.path}/empty.db`;
    openDatabase(empty).close();
    const detected = `${dir.path}/pad "quoted" \\ dir.db`;
    seedDetected(detected, Date.now());
    for (const db of [empty, detected]) {
      const file = `${dir.path}/out.prom`;
      writePrometheusFile(db, file);
      const text = Deno.readTextFileSync(file);
      parseExposition(text, db);
      await promtoolCheck(text);
    }
  },
});
