import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { SCHEMA_VERSION } from "../src/store/migrations.ts";
import { padTaskFlags, runPad, tempDir } from "../fixtures/pad_cli.ts";

Deno.test("deno task pad and deno task compile give pad the same permissions and flags", () => {
  const run = padTaskFlags(config.tasks.pad);
  const compile = padTaskFlags(config.tasks.compile);
  assert.deepEqual(compile, run);
  assert.ok(run.includes("--unstable-net"));
  assert.ok(config.tasks.compile.includes("--output pad"));
});

Deno.test("bad flag values exit 2 with one line naming the flag and what is accepted", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const cases: [string[], RegExp][] = [
    [["inspect", "--limit", "-1"], /--limit.*whole number of at least 0/],
    [["inspect", "--limit", "ten"], /--limit.*whole number/],
    [["inspect", "--format", "xml"], /--format.*table, json, csv, tsv/],
    [["inspect", "--since", "yesterday"], /--since.*ISO 8601.*2h or 7d/],
    [["inspect", "--round", "0"], /--round.*at least 1/],
    [["prune", "--keep", "7 days"], /--keep.*90m, 36h, 7d/],
    [["--log-format", "xml", "init"], /--log-format.*text, json/],
    [["collect-all"], /unknown command/],
    [["inspect", "--colour"], /unknown option '--colour'/],
    [["--db", "", "init"], /--db.*give a file path/],
    // Durations are bounded on both sides: a round of 0.4 ms stored nothing but an error, and a
    // pause of 0.1 ms made collect spin.
    [["import", "x.pcap", "--round-length", "0.4ms"], /--round-length.*from 1s to 1d/],
    [["collect", "--interval", "0.1ms"], /--interval.*from 100ms to 1h/],
    [["collect", "--duration", "3d"], /--duration.*from 1s to 1d/],
    [["prune", "--keep-packets", "20s"], /--keep-packets.*from 1m to 3650d/],
    [["collect", "--capture-buffer", "0"], /--capture-buffer.*at least 1/],
    [["collect", "--capture-buffer", "4096"], /--capture-buffer.*1 to 1024/],
  ];
  for (const [args, message] of cases) {
    const run = await runPad(["--db", db, ...args]);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.equal(run.stdout, "");
  }
});

Deno.test("a runtime failure is one line on stderr and exit 1; --debug adds the stack", async () => {
  using dir = tempDir();
  const notDb = `${dir.path}/notes.txt`;
  Deno.writeTextFileSync(notDb, "plain text, not SQLite\n".repeat(200));
  const plain = await runPad(["--db", notDb, "init"]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /Not a pad database/);
  assert.equal(plain.stderr.trim().split("\n").length, 1);
  const debug = await runPad(["--debug", "--db", notDb, "init"]);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /at .*database\.ts/);
});

Deno.test("--log-format json writes one JSON object per log line on stderr", async () => {
  using dir = tempDir();
  const run = await runPad(["--log-format", "json", "--db", `${dir.path}/none.db`, "inspect"]);
  assert.equal(run.code, 1);
  const record = JSON.parse(run.stderr.trim());
  assert.equal(record.level, "ERROR");
  assert.match(record.message, /No database at/);
});

Deno.test("a warning as text is `time level: part: message`; as JSON, logtape's keys", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  assert.equal((await runPad(["--db", db, "init"])).code, 0);
  const file = `${dir.path}/pad.txt`;
  const args = ["--db", db, "export", "--prometheus", file];
  const message = "node_exporter's textfile collector reads only *.prom files, not";
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

  const text = await runPad(args);
  assert.equal(text.code, 0, text.stderr);
  // stderr is a pipe, not a terminal, so the line starts with the time.
  const [time, line] = [text.stderr.slice(0, 24), text.stderr.slice(24)];
  assert.match(time, iso);
  assert.equal(line, ` warning: export: ${message} ${file}\n`);

  const json = await runPad(["--log-format", "json", ...args]);
  assert.equal(json.code, 0, json.stderr);
  assert.ok(json.stderr.endsWith("}\n") && json.stderr.split("\n").length === 2, json.stderr);
  const record = JSON.parse(json.stderr);
  assert.deepEqual(Object.keys(record), ["@timestamp", "level", "message", "logger", "properties"]);
  assert.match(record["@timestamp"], iso);
  assert.equal(record.level, "WARN");
  assert.equal(record.message, `${message} ${JSON.stringify(file)}`); // values as JSON
  assert.equal(record.logger, "pad.export");
  assert.deepEqual(record.properties, { file });
});

Deno.test("pad init prints the path and schema version, and data goes to stdout only", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const first = await runPad(["--db", db, "init"]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, `${db}\tschema version ${SCHEMA_VERSION} (created)\n`);
  assert.equal(first.stderr, "");
  const second = await runPad(["init"], { env: { PAD_DB: db } });
  assert.equal(second.stdout, `${db}\tschema version ${SCHEMA_VERSION} (up to date)\n`);
});

Deno.test("pad --version and --help exit 0", async () => {
  const version = await runPad(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const help = await runPad(["inspect", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--where <column=value>/);
  assert.match(help.stdout, /--db <path>/); // global options shown on every command
});
