/**
 * A local user names a process with terminal escape sequences; pad stores the name as it is
 * and prints it escaped, in every human-facing format, through the real CLI.
 */
import assert from "node:assert/strict";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory, injectListener } from "../fixtures/synthetic.ts";
import { printable } from "../src/text.ts";
import { openDatabase } from "../src/store/database.ts";
import { freePortBlock } from "./support/listeners.ts";

/** What a hostile process calls itself: set the window title, ring the bell, override bidi. */
const HOSTILE = "\x1b]2;pwn\x07\u202ex";
// deno-lint-ignore no-control-regex -- the test looks for raw control characters
const RAW = /[\x00-\x08\x0b-\x1f\x7f\u202e]/;

Deno.test("printable() shows control and bidi characters as escapes and leaves the rest", () => {
  assert.equal(printable(HOSTILE), "\\x1b]2;pwn\\x07\\u202ex");
  assert.equal(printable("nginx: worker"), "nginx: worker");
  assert.equal(printable("a\tb\nc", true), "a\tb\nc");
  assert.equal(printable("a\tb\nc"), "a\\x09b\\x0ac");
});

Deno.test("a process named with escape sequences is stored as it is and printed escaped", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const port = freePortBlock(1);
  const listener = new Deno.Command("python3", {
    args: [
      "-c",
      "import socket, sys; open('/proc/self/comm', 'w').write(sys.argv[1]); " +
      "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(); " +
      "print('ready', flush=True); sys.stdin.read()",
      HOSTILE,
      String(port),
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  try {
    const reader = listener.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /ready/);
    reader.releaseLock();
    const collect = await runPad(
      ["--db", db, "collect", "--no-capture", "--probe", "procfs", "--duration", "1s"],
    );
    assert.equal(collect.code, 0, collect.stderr);
  } finally {
    await listener.stdin.close();
    await listener.output();
  }
  for (const format of ["table", "tsv", "csv"]) {
    const run = await runPad([
      "--db",
      db,
      "inspect",
      "rounds_ports",
      "--where",
      `port_id=${port}`,
      "--format",
      format,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, RAW, `${format}: no raw control character`);
    assert.ok(run.stdout.includes("\\x1b]2;pwn\\x07\\u202ex"), `${format}: ${run.stdout}`);
  }
  const json = await runPad(["--db", db, "inspect", "rounds_ports", "--format", "json"]);
  const row = json.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((r) =>
    r.port_id === port
  );
  assert.equal(row.command, HOSTILE, "JSON keeps the stored name, escaped by JSON itself");
});

Deno.test("detect's text and inspect's anomaly ports print a hostile process name escaped", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  {
    using conn = openDatabase(db);
    const rounds = generateHistory({ seed: 31, rounds: 150 });
    const listener = injectListener(rounds[140]!, 41_234);
    listener.occupied = listener.occupied.map((o) =>
      o.port === 41_234 ? { ...o, command: HOSTILE } : o
    );
    rounds[140] = listener;
    storeRoundHistory(conn, rounds);
  }
  const detect = await runPad(["--db", db, "detect"]);
  assert.equal(detect.code, 0, detect.stderr);
  assert.match(detect.stdout, /listener on 41234 \(\\x1b\]2;pwn\\x07\\u202ex, pid 6666\)/);
  assert.doesNotMatch(detect.stdout + detect.stderr, RAW);
  const ports = await runPad(["--db", db, "inspect", "anomaly_ports", "--format", "table"]);
  assert.equal(ports.code, 0, ports.stderr);
  assert.doesNotMatch(ports.stdout, RAW);
  assert.ok(ports.stdout.includes("\\x1b]2;pwn\\x07\\u202ex"), ports.stdout);
});
