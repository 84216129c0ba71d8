import assert from "node:assert/strict";
import { runInspect } from "../src/commands/inspect.ts";
import { UsageError } from "../src/errors.ts";
import { BufferOutput } from "../src/output.ts";
import { TABLES } from "../src/store/catalog.ts";
import { openDatabase } from "../src/store/database.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { seedRounds } from "./support/seed.ts";

const T0 = Date.parse("2026-11-20T00:00:00Z");

/** A database with 30 rounds a minute apart; round 7 failed with an awkward error text. */
function seeded(dir: string): string {
  const path = `${dir}/pad.db`;
  using db = openDatabase(path);
  seedRounds(
    db,
    Array.from({ length: 30 }, (_, i) => ({
      start: T0 + i * 60_000,
      ports: [22, 5353 + i],
      packets: 2,
      status: i === 6 ? "failed" as const : "complete" as const,
      error: i === 6 ? 'sweep failed: "disk, full"\nsecond line\tand a tab \\ too' : null,
    })),
  );
  return path;
}

function dbRows(path: string, table: string) {
  using db = openDatabase(path);
  return db.prepare(`SELECT * FROM ${table} ORDER BY rowid DESC`).all();
}

/** A small RFC 4180 reader, so the test checks pad's CSV against the format, not against itself. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"', i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") (row.push(field), field = "");
    else if (c === "\n") (row.push(field), rows.push(row), row = [], field = "");
    else field += c;
  }
  return rows;
}

function inspect(path: string, options: Partial<Parameters<typeof runInspect>[0]>): string {
  const out = new BufferOutput();
  runInspect({ db: path, limit: 0, where: [], ...options }, out);
  return out.text;
}

Deno.test("inspect --format json writes rows that parse back to the stored rows", () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  for (const table of ["rounds", "rounds_ports", "ports"]) {
    const lines = inspect(path, { table, format: "json" }).trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => JSON.parse(l)), dbRows(path, table).map((r) => ({ ...r })));
  }
  const packets = inspect(path, { table: "packets", format: "json" }).trimEnd().split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(packets[0].payload, "012c220a"); // blobs as hex
});

Deno.test("inspect --format csv and tsv parse back to the stored rows", () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  const stored = dbRows(path, "rounds");
  const asText = (v: unknown) => v === null ? "" : String(v);

  const [header, ...rows] = parseCsv(inspect(path, { table: "rounds", format: "csv" }));
  assert.deepEqual(header, Object.keys(stored[0]!));
  assert.deepEqual(rows, stored.map((r) => Object.values(r).map(asText)));

  const unescape = (f: string) =>
    f.replace(/\\(.)/g, (_, c) => ({ t: "\t", n: "\n", r: "\r", "\\": "\\" })[c as string]!);
  const tsv = inspect(path, { table: "rounds", format: "tsv" }).split("\n").slice(0, -1)
    .map((line) => line.split("\t").map(unescape));
  assert.deepEqual(tsv.slice(1), stored.map((r) => Object.values(r).map(asText)));
  assert.ok(
    tsv.slice(1).some((r) =>
      r.includes('sweep failed: "disk, full"\nsecond line\tand a tab \\ too')
    ),
  );
});

Deno.test("inspect filters by --since, --until, --round, --where and --limit, newest first", () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  const ids = (options: Partial<Parameters<typeof runInspect>[0]>) =>
    inspect(path, { table: "rounds", format: "json", ...options }).trimEnd().split("\n")
      .filter(Boolean).map((l) => JSON.parse(l).id);
  assert.deepEqual(ids({ limit: 3 }), [30, 29, 28]);
  assert.deepEqual(ids({ since: T0 + 25 * 60_000 }), [30, 29, 28, 27, 26]);
  assert.deepEqual(ids({ since: T0 + 60_000, until: T0 + 3 * 60_000 }), [3, 2]);
  assert.deepEqual(ids({ where: ["status=failed"] }), [7]);
  assert.deepEqual(ids({ where: ["status=complete", "id=8"] }), [8]);
  assert.deepEqual(ids({ round: 12 }), [12]);
  const ports = inspect(path, { table: "rounds_ports", format: "json", round: 12 }).trimEnd()
    .split("\n").map((l) => JSON.parse(l).port_id).sort();
  assert.deepEqual(ports, [22, 5364]);
});

Deno.test("inspect without a table lists row counts, size and time span", () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  const summary = JSON.parse(inspect(path, { format: "json" }));
  assert.equal(summary.first_round, T0);
  assert.equal(summary.last_round, T0 + 29 * 60_000);
  assert.ok(summary.size_bytes > 0);
  const rowsSeeded = { rounds: 30, ports: 31, rounds_ports: 60, packets: 60, round_traffic: 30 };
  for (const { table, rows } of summary.tables as { table: string; rows: number }[]) {
    assert.equal(rows, rowsSeeded[table as keyof typeof rowsSeeded] ?? 0, table); // the rest are empty
  }
  assert.deepEqual(
    summary.tables.map((t: { table: string }) => t.table),
    TABLES.map((t) => t.name),
  );
  const table = inspect(path, { format: "table" });
  assert.match(table, /rounds\s+2026-11-20T00:00:00.000Z to 2026-11-20T00:29:00.000Z/);
  assert.match(table, /rounds_ports\s+60/);
});

Deno.test("inspect's aligned table shows times as ISO 8601 and aligns columns", () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  const lines = inspect(path, { table: "rounds", format: "table", limit: 2 }).trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.match(
    lines[1]!,
    /^\s*30\s+2026-11-20T00:29:00.000Z\s+2026-11-20T00:29:55.000Z\s+complete/,
  );
  assert.equal(lines[0]!.indexOf("start_time"), lines[1]!.indexOf("2026"));
});

Deno.test("inspect names the valid tables and columns when given unknown ones", () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  assert.throws(
    () => inspect(path, { table: "round" }),
    (e: Error) =>
      e instanceof UsageError && /use one of rounds, ports, rounds_ports, packets/.test(e.message),
  );
  assert.throws(
    () => inspect(path, { table: "rounds", where: ["state=open"] }),
    (e: Error) => e instanceof UsageError && /id, start_time, end_time, status/.test(e.message),
  );
  assert.throws(() => inspect(path, { table: "ports", round: 3 }), UsageError);
});

Deno.test("pad inspect of a missing database fails and creates nothing", async () => {
  using dir = tempDir();
  const path = `${dir.path}/nested/pad.db`;
  const run = await runPad(["--db", path, "inspect"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /No database at .*nested\/pad\.db: run "pad init"/);
  assert.equal(run.stderr.trim().split("\n").length, 1);
  assert.equal(run.stdout, "");
  assert.throws(() => Deno.statSync(`${dir.path}/nested`), Deno.errors.NotFound);
});

Deno.test("pad inspect exits 2 naming the valid tables and columns", async () => {
  using dir = tempDir();
  const path = seeded(dir.path);
  const table = await runPad(["--db", path, "inspect", "users"]);
  assert.equal(table.code, 2);
  assert.match(
    table.stderr,
    /Unknown table "users": use one of rounds, ports, rounds_ports, packets/,
  );
  const column = await runPad(["--db", path, "inspect", "packets", "--where", "port=80"]);
  assert.equal(column.code, 2);
  assert.match(column.stderr, /qry_name, resp_name, port_id, remote_port/);
});
