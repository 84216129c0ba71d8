/**
 * A sysadmin's first hour, through the real CLI: a configuration file, systemd units checked by
 * systemd-analyze, pad status, a terminal that fits, help that shows defaults as written,
 * shell completion checked by the shells themselves, and the footguns that used to pass quietly.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { exists } from "../src/atomic_file.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory } from "../fixtures/synthetic.ts";
import { writeSynCapture } from "../fixtures/pcap_writer.ts";
import { openDatabase } from "../src/store/database.ts";
import { storeRound } from "../src/store/rounds.ts";
import { runInspect } from "../src/commands/inspect.ts";
import { BufferOutput } from "../src/output.ts";

function query(db: string, sql: string) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all().map((r) => ({ ...r }));
}

/** A database holding `rounds` minute rounds of the synthetic host. */
function history(path: string, rounds = 30): string {
  using db = openDatabase(path);
  storeRoundHistory(db, generateHistory({ rounds, seed: 5 }));
  return path;
}

Deno.test("a configuration file sets every command's flags; flags win; pad config tells where each came from", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/pad.toml`;
  Deno.writeTextFileSync(
    file,
    `# a host's settings\ndb = "${db}"\n\n[collect]\ninterface = "lo"\nduration = "1s"\n\n` +
      `[prune]\nkeep = "14d"\n\n[model.merge]\noutput = "${dir.path}/fleet.padmodel"\n\n` +
      // A flag's name before flows, from an older schedule: still read, and shown where set.
      `[import]\nmax-packets = 100\n\n` +
      // A flag whose value is optional (--syslog [socket]) takes true for the flag alone.
      `[detect]\nsyslog = true\n`,
  );
  const collected = await runPad(["--config", file, "collect"]);
  assert.equal(collected.code, 0, collected.stderr);
  assert.match(collected.stdout, /^Round 1 complete: .* on lo /);
  assert.ok(exists(db), "the database named in the file");

  // $PAD_CONFIG finds it too; a flag overrides the file.
  const shown = await runPad(["config", "--help"], { env: { PAD_CONFIG: file } });
  assert.equal(shown.code, 0, shown.stderr);
  const config = await runPad(["--db", `${dir.path}/other.db`, "config"], {
    env: { PAD_CONFIG: file },
  });
  assert.equal(config.code, 0, config.stderr);
  const row = (key: string) =>
    config.stdout.split("\n").find((l) => l.startsWith(`${key} `))?.split(/\s{2,}/);
  assert.deepEqual(row("db"), ["db", `${dir.path}/other.db`, "flag"]);
  assert.deepEqual(row("collect.interface"), ["collect.interface", "lo", `${file}:5`]);
  assert.deepEqual(row("prune.keep"), ["prune.keep", "14d", `${file}:9`]);
  assert.deepEqual(row("prune.keep-packets"), ["prune.keep-packets", "1d", "default"]);
  assert.deepEqual(row("import.max-packets"), ["import.max-packets", "100", `${file}:15`]);
  assert.equal(row("collect.max-packets"), undefined); // an old name, not set: not listed
  assert.deepEqual(row("detect.syslog"), ["detect.syslog", "true", `${file}:18`]);
  // --no-capture as the flag reads: not given (it sets capture, which is on).
  assert.deepEqual(row("collect.no-capture"), ["collect.no-capture", "-", "default"]);
  assert.deepEqual(row("model.merge.output"), [
    "model.merge.output",
    `${dir.path}/fleet.padmodel`,
    `${file}:12`,
  ]);
  assert.match(config.stdout, new RegExp(`^# configuration file: ${file}`));
});

Deno.test("a bad configuration is exit 2 naming the file, line and key; nothing runs", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const cases: [string, RegExp][] = [
    [
      `[collect]\nprobe = "sonar"\n`,
      /pad\.toml:2: collect\.probe: "sonar" is not one of listen, procfs/,
    ],
    [`[collect]\nprobes = "procfs"\n`, /pad\.toml:2: unknown key "collect\.probes"/],
    [`[colect]\nprobe = "procfs"\n`, /pad\.toml:1: unknown table "colect"/],
    [`\n[prune]\nkeep = "7 days"\n`, /pad\.toml:3: prune\.keep: Invalid --keep "7 days"/],
    [`[prune]\ndry-run = "yes"\n`, /pad\.toml:2: prune\.dry-run: use true or false/],
    [`[prune\n`, /pad\.toml:1:7: invalid TOML/],
  ];
  for (const [text, message] of cases) {
    Deno.writeTextFileSync(`${dir.path}/pad.toml`, text);
    const run = await runPad(["--db", db, "--config", `${dir.path}/pad.toml`, "collect"]);
    assert.equal(run.code, 2, text);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.ok(!exists(db), "nothing ran");
  }
  const missing = await runPad(["--config", `${dir.path}/nope.toml`, "status"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Invalid --config ".*nope\.toml": no such file/);
});

Deno.test("pad systemd writes service and timer units that systemd-analyze verify accepts", async () => {
  using dir = tempDir();
  const db = `${dir.path}/it's 50% $odd/pad.db`;
  Deno.mkdirSync(`${dir.path}/it's 50% $odd`);
  const units = `${dir.path}/units`;
  Deno.mkdirSync(units);
  const written = await runPad([
    "--db",
    db,
    "systemd",
    "--output",
    units,
    "--prometheus",
    `${dir.path}/pad.prom`,
  ]);
  assert.equal(written.code, 0, written.stderr);
  const names = [...Deno.readDirSync(units)].map((e) => e.name).sort();
  assert.deepEqual(names, [
    "pad-collect.service",
    "pad-collect.timer",
    "pad-detect.service",
    "pad-detect.timer",
    "pad-prune.service",
    "pad-prune.timer",
  ]);
  const collect = Deno.readTextFileSync(`${units}/pad-collect.service`);
  // systemd's own escapes: %% and $$, quotes around a word with a space.
  assert.match(
    collect,
    /ExecStart=\S+ .*--db "[^"]*it's 50%% \$\$odd\/pad\.db" --quiet collect --probe procfs --prometheus /,
  );
  assert.match(Deno.readTextFileSync(`${units}/pad-detect.timer`), /OnCalendar=\*-\*-\* \*:05:00/);
  const verify = new Deno.Command("systemd-analyze", {
    args: ["verify", ...names.map((n) => `${units}/${n}`)],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.equal(verify.code, 0, new TextDecoder().decode(verify.stderr));

  const printed = await runPad(["--db", db, "systemd"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^# pad-collect\.service\n/);
  const both = await runPad(["--db", db, "systemd", "--install", "--uninstall"]);
  assert.equal(both.code, 2);
});

Deno.test("pad status: one screen, exit 1 when collect stopped, and no database created", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const none = await runPad(["--db", db, "status"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No database at .*pad\.db: run "pad init"/);
  assert.ok(!exists(db));

  assert.equal(
    (await runPad(["--db", db, "collect", "--duration", "1s", "--interface", "lo"])).code,
    0,
  );
  const fresh = await runPad(["--db", db, "status"]);
  assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
  assert.match(fresh.stdout, /^database +.*pad\.db \(\d+\.\d MiB, schema \d+\)$/m);
  assert.match(
    fresh.stdout,
    /^collect +round 1 complete, [\d.]+ (s|min) ago, probe procfs, capture on lo$/m,
  );
  assert.match(fresh.stdout, /^detect +never ran/m);
  assert.match(fresh.stdout, /^warm-up +119 rounds to go \(about 2 h of collect,/m);
  assert.match(fresh.stdout, /^incidents +none open$/m);

  {
    // Collect stopped: its newest round is an hour old.
    using conn = openDatabase(db);
    conn.exec("UPDATE rounds SET start_time = start_time - 3600000, end_time = end_time - 3600000");
  }
  const stale = await runPad(["--db", db, "status", "--format", "json"]);
  assert.equal(stale.code, 1);
  const json = JSON.parse(stale.stdout);
  assert.equal(json.ok, false);
  assert.match(json.problems[0], /^collect has not stored a round for 1 h: check its schedule/);
  assert.equal(json.last_round.probe, "procfs");
  assert.equal(json.warmup_rounds_left, 119);
});

Deno.test("pad inspect fits the terminal: main columns, ISO times, rounded fractions, round times of anomalies", () => {
  using dir = tempDir();
  const db = history(`${dir.path}/pad.db`);
  {
    using conn = openDatabase(db);
    conn.exec(
      "INSERT INTO models (created, encoding, topology, weights, config, threshold, " +
        "threshold_state, rounds_trained, trained_until) " +
        "VALUES (1772409600000, 'e', 't', x'00', '{}', 15.8612345, '{}', 30, 1772411340000)",
    );
    conn.exec(
      "INSERT INTO round_scores (round_id, model_id, scored_at, score, threshold, verdict) " +
        "VALUES (3, 1, 1772413200000, 21.123456, 15.8612345, 'anomaly')",
    );
    conn.exec(
      "INSERT INTO anomalies (round_id, detected_at, score, threshold, model_id) " +
        "VALUES (3, 1772413200000, 21.123456, 15.8612345, 1)",
    );
  }
  const inspect = (table: string, width: number, extra: Record<string, unknown> = {}) => {
    const out = new BufferOutput(true, width);
    runInspect({ db, table, limit: 5, where: [], ...extra }, out);
    return out.text;
  };
  const rounds = inspect("rounds", 80);
  for (const line of rounds.split("\n")) assert.ok(line.length <= 80, line);
  assert.match(rounds, /^ ?id {2}start_time +end_time/);
  assert.match(
    rounds,
    /\n\(5 more columns: --all-columns shows them\)\n$/,
  );
  const wide = inspect("rounds", 400, { allColumns: true });
  assert.match(wide.split("\n")[0]!, /\bsource_file\b.*\bcoverage\b/);

  const models = inspect("models", 200);
  assert.match(models, /2026-03-02T00:29:00\.000Z/, "trained_until as ISO 8601");
  assert.match(models, / 15\.86 /, "a threshold rounded");
  const anomalies = inspect("anomalies", 200);
  assert.match(anomalies.split("\n")[0]!, /round_id {2}round_time/);
  assert.match(anomalies, / 3 {2}2026-03-02T00:02:00\.000Z {2}21\.12 {2}/);

  const chosen = inspect("rounds", 30, { columns: ["id", "status"] });
  assert.equal(chosen.split("\n")[0], "id  status");
  assert.throws(
    () => inspect("rounds", 80, { columns: ["id", "nope"] }),
    /Invalid --columns: rounds has no nope; its columns: id, start_time/,
  );
});

Deno.test("output into a closed pipe ends quietly with exit 0", () => {
  using dir = tempDir();
  const db = history(`${dir.path}/pad.db`, 120);
  const pad = `${Deno.execPath()} run --unstable-net --allow-all ${
    new URL("../main.ts", import.meta.url).pathname
  }`;
  const run = new Deno.Command("bash", {
    args: ["-c", `set -o pipefail; ${pad} --db ${db} inspect rounds_ports --limit 0 | head -1`],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const stderr = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, stderr);
  assert.equal(stderr, "");
  assert.match(new TextDecoder().decode(run.stdout), /^id\tround_id\tport_id\t/);
});

Deno.test("help shows defaults as they are written; pad help A B; completion scripts the shells accept", async () => {
  const prune = await runPad(["help", "prune"]);
  assert.equal(prune.code, 0);
  assert.match(prune.stdout, /--keep <duration> +keep rounds younger than this \(default: 7d\)/);
  assert.match(prune.stdout, /\(default: 1d\)/);
  const merge = await runPad(["help", "model", "merge"]);
  assert.match(merge.stdout, /^Usage: pad model merge /);
  for (const command of ["", "collect", "import", "detect", "prune", "inspect", "report", "cron"]) {
    const help = await runPad([...(command ? [command] : []), "--help"]);
    // Not milliseconds, not an empty list, not a switch that is off.
    assert.doesNotMatch(help.stdout, /default: (false|\[\]|604800000|86400000|60000)\)/, command);
  }
  const db = (await runPad(["--help"])).stdout.replace(/\s+/g, " ");
  assert.match(db, /\$XDG_DATA_HOME\/pad\/pad\.db/);

  using dir = tempDir();
  for (const shell of ["bash", "zsh", "fish"]) {
    const script = await runPad(["completions", shell]);
    assert.equal(script.code, 0, script.stderr);
    Deno.writeTextFileSync(`${dir.path}/pad.${shell}`, script.stdout);
  }
  const bash = new Deno.Command("bash", {
    args: [
      "-c",
      `source ${dir.path}/pad.bash; COMP_WORDS=(pad --db x.db mod); COMP_CWORD=3; _pad; ` +
      `echo "\${COMPREPLY[@]}"; COMP_WORDS=(pad collect --pro); COMP_CWORD=2; _pad; echo "\${COMPREPLY[@]}"`,
    ],
    stdout: "piped",
  }).outputSync();
  assert.equal(new TextDecoder().decode(bash.stdout), "model\n--probe --prometheus\n");
  const fish = new Deno.Command("fish", {
    args: ["-c", `source ${dir.path}/pad.fish; complete -C "pad model m"`],
    stdout: "piped",
  }).outputSync();
  assert.match(new TextDecoder().decode(fish.stdout), /^merge\taverage models/);
  const zsh = new Deno.Command("zsh", { args: ["-n", `${dir.path}/pad.zsh`] }).outputSync();
  assert.equal(zsh.code, 0);

  const man = await runPad(["help", "--man"]);
  assert.match(man.stdout, /^\.TH PAD 1 /);
  for (const command of ["collect", "detect", "status", "systemd", "model merge"]) {
    assert.match(man.stdout, new RegExp(`^\\.SS "pad ${command}`, "m"), command);
  }
});

Deno.test("footguns: a mistyped --db, a capture imported twice, an old capture's rounds, a --local that matches nothing", async () => {
  using dir = tempDir();
  const missing = `${dir.path}/typo.db`;
  for (const args of [["detect"], ["prune"], ["ack", "1"]]) {
    const run = await runPad(["--db", missing, ...args]);
    assert.equal(run.code, 1, args.join(" "));
    assert.match(run.stderr, /No database at .*typo\.db: run "pad init" or "pad collect" first/);
    assert.ok(!exists(missing), args.join(" "));
  }

  // A capture from 2020: 3 minutes of SYNs from 192.168.1.10 to 192.0.2.80.
  const file = `${dir.path}/old.pcap`;
  const start = Date.UTC(2020, 0, 1, 10, 0, 0);
  writeSynCapture(file, start, 180);
  const db = `${dir.path}/pad.db`;
  const first = await runPad(["--db", db, "import", file]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /: 3 rounds, /);
  const again = await runPad(["--db", db, "import", file]);
  assert.equal(again.code, 2);
  assert.match(
    again.stderr,
    /old\.pcap was imported before \(as .*old\.pcap, .*, 3 rounds\): importing it again stores its rounds twice; pass --again/,
  );
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 3);
  const forced = await runPad(["--db", db, "import", "--again", file]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 6);

  // Kept --keep after their import, not after 2020.
  const pruned = await runPad(["--db", db, "prune", "--keep", "1d"]);
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 6);

  const elsewhere = await runPad([
    "--db",
    `${dir.path}/b.db`,
    "import",
    "--local",
    "10.9.9.9",
    file,
  ]);
  assert.equal(elsewhere.code, 0, elsewhere.stderr);
  assert.match(
    elsewhere.stderr,
    /old\.pcap: no packet has an address in --local 10\.9\.9\.9, so every packet counts as inbound; the capture's busiest addresses are 192\.168\.1\.10 \(180 packets\), 192\.0\.2\.80 \(180 packets\): pass the host's own with --local/,
  );
  const right = await runPad([
    "--db",
    `${dir.path}/c.db`,
    "import",
    "--local",
    "192.168.1.10",
    file,
  ]);
  assert.doesNotMatch(right.stderr, /no packet has an address/);
});

Deno.test("footguns: an interface that is not there, a cron line into a missing directory, an empty report", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const nosuch = await runPad([
    "--db",
    db,
    "collect",
    "--duration",
    "1s",
    "--interface",
    "nosuch0",
  ]);
  assert.equal(nosuch.code, 2, nosuch.stderr);
  assert.match(
    nosuch.stderr,
    /Invalid --interface "nosuch0": no such interface; pad doctor lists the interfaces/,
  );

  const cron = await runPad([
    "--db",
    db,
    "cron",
    "--install",
    "--prometheus",
    `${dir.path}/missing/dir/pad.prom`,
  ]);
  assert.equal(cron.code, 2, cron.stderr);
  assert.match(cron.stderr, /Invalid --prometheus: cannot use directory .*missing\/dir/);

  {
    using conn = openDatabase(db);
    storeRound(conn, {
      startTime: Date.UTC(2026, 2, 2, 10, 0),
      endTime: Date.UTC(2026, 2, 2, 10, 1),
      status: "complete",
      source: "live",
      occupied: [],
    });
  }
  const report = await runPad(["--db", db, "report", "-o", `${dir.path}/r.html`, "--since", "1d"]);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /0 rounds/);
  assert.match(
    report.stderr,
    /No rounds in that range; the database holds 1 round from 2026-03-02T10:00:00\.000Z to 2026-03-02T10:00:00\.000Z: pass --since 2026-03-02T10:00:00\.000Z/,
  );
  assert.equal(Deno.statSync(`${dir.path}/r.html`).mode! & 0o777, 0o600);
});

Deno.test("long work shows progress on a terminal only; under journald log lines carry no time stamp", async () => {
  using dir = tempDir();
  const db = history(`${dir.path}/pad.db`, 30);
  const pad = `${Deno.execPath()} run --unstable-net --allow-all ${
    new URL("../main.ts", import.meta.url).pathname
  }`;
  // script(1) gives pad a terminal.
  const tty = new Deno.Command("script", {
    args: ["-qec", `${pad} --db ${db} detect --max-epochs 1`, "/dev/null"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
  }).outputSync();
  const seen = new TextDecoder().decode(tty.stdout);
  assert.equal(tty.code, 0, seen);
  // The line is drawn and cleared with the terminal's erase-line sequence, ESC [2K.
  const drawn = new RegExp(
    "\\r\\x1b\\[2Kpad detect: 30/30 rounds, [\\d.]+/s, about \\d+ s left \\(model v1\\)" +
      "\\r\\x1b\\[2KScored",
  );
  assert.match(seen, drawn);
  assert.match(seen, /30 in warm-up \(learned from; the model judges after 90 more rounds\)/);
  const piped = await runPad(["--db", db, "detect"]);
  assert.doesNotMatch(piped.stderr, /pad detect:/);

  const journal = new Deno.Command("bash", {
    args: [
      "-c",
      `exec 2>"$1"; JOURNAL_STREAM=$(stat -c %d:%i "$1") ${pad} --db ${dir.path}/nope.db prune`,
      "bash",
      `${dir.path}/journal.txt`,
    ],
  }).outputSync();
  assert.equal(journal.code, 1);
  assert.equal(
    Deno.readTextFileSync(`${dir.path}/journal.txt`),
    `error: No database at ${dir.path}/nope.db: run "pad init" or "pad collect" first, or pass --db PATH\n`,
  );
});
