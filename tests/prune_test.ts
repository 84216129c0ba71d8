import assert from "node:assert/strict";
import { runPrune } from "../src/commands/prune.ts";
import { BufferOutput } from "../src/output.ts";
import { type Database, openDatabase } from "../src/store/database.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { count, seedRounds } from "./support/seed.ts";
import { waitFor } from "./support/wait.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-11-21T12:00:00Z");

/** 10 days of rounds, 4 an hour, each with 2 port rows and 30 packets; plus one stale open round. */
function tenDays(db: Database): { ids: number[]; starts: number[] } {
  const starts = Array.from({ length: 10 * 24 * 4 }, (_, i) => NOW - 10 * DAY + i * 15 * 60_000);
  const ids = seedRounds(db, starts.map((start) => ({ start, ports: [22, 443], packets: 30 })));
  const open = seedRounds(db, [{ start: NOW - 9 * DAY, status: "open", ports: [80], packets: 5 }]);
  return { ids: [...ids, ...open], starts: [...starts, NOW - 9 * DAY] };
}

function prune(path: string, options: Partial<Parameters<typeof runPrune>[0]> = {}) {
  const out = new BufferOutput();
  const result = runPrune(
    { db: path, keepMs: 7 * DAY, keepPacketsMs: 10 * DAY, dryRun: false, now: NOW, ...options },
    out,
  );
  return { result, text: out.text };
}

function orphans(db: Database): number {
  return ["rounds_ports", "packets", "port_traffic"]
    .map((table) => count(db, table, "round_id NOT IN (SELECT id FROM rounds)"))
    .reduce((a, b) => a + b);
}

Deno.test("prune removes exactly the rounds older than --keep, with their rows, while another connection writes", async () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  let expected: Set<number>;
  {
    using db = openDatabase(path);
    const { ids, starts } = tenDays(db);
    const cutoff = NOW - 7 * DAY;
    expected = new Set(ids.filter((_, i) => starts[i]! >= cutoff || i === ids.length - 1));
  }
  const writer = new Worker(new URL("./support/writer_worker.ts", import.meta.url), {
    type: "module",
  });
  const written = new Promise<{ ids: number[]; error: string | null }>((resolve) =>
    writer.onmessage = (e) => resolve(e.data)
  );
  writer.postMessage({ path, start: NOW - 60_000 });
  await waitFor(() => {
    using db = openDatabase(path);
    return count(db, "rounds", `start_time >= ${NOW - 60_000}`) >= 3;
  }, "the writer's first rounds");

  const { result, text } = prune(path, { batchRows: 500 });
  writer.postMessage("stop");
  const { ids: writtenIds, error } = await written;
  writer.terminate();

  assert.equal(error, null);
  assert.ok(writtenIds.length > 0);
  using db = openDatabase(path);
  const remaining = new Set(db.prepare("SELECT id FROM rounds").all().map((r) => Number(r.id)));
  assert.deepEqual(remaining, new Set([...expected, ...writtenIds]));
  assert.equal(result.rounds, 3 * 24 * 4);
  const removed = {
    rounds_ports: 3 * 24 * 4 * 2,
    packets: 3 * 24 * 4 * 30,
    port_traffic: 3 * 24 * 4,
  };
  for (const [table, rows] of Object.entries(result.rows)) {
    assert.equal(rows, removed[table as keyof typeof removed] ?? 0, table); // nothing seeded there
  }
  assert.equal(orphans(db), 0);
  assert.equal(count(db, "packets"), (expected.size - 1) * 30 + 5 + writtenIds.length * 20);
  assert.match(
    text,
    /^Removed 288 rounds \(with 8640 packets, 576 rounds_ports, 288 port_traffic rows\)/,
  );
});

Deno.test("prune never touches an open round, however old", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using db = openDatabase(path);
    seedRounds(db, [{ start: NOW - 30 * DAY, status: "open", packets: 3 }]);
    seedRounds(db, [{ start: NOW - 30 * DAY, status: "failed", packets: 3 }]);
  }
  prune(path, { keepPacketsMs: 1 });
  using db = openDatabase(path);
  assert.deepEqual(db.prepare("SELECT status FROM rounds").all().map((r) => r.status), ["open"]);
  assert.equal(count(db, "packets"), 3);
});

Deno.test("prune --keep-packets drops packet rows but keeps their rounds", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using db = openDatabase(path);
    tenDays(db);
  }
  const { result } = prune(path, { keepMs: 30 * DAY, keepPacketsMs: DAY });
  using db = openDatabase(path);
  assert.equal(result.rounds, 0);
  assert.equal(count(db, "rounds"), 961);
  assert.equal(count(db, "packets"), 96 * 30 + 5); // the last day's, and the open round's
  assert.equal(result.agedPackets, 9 * 96 * 30);
  assert.equal(count(db, "rounds_ports"), 960 * 2 + 1);
});

Deno.test("prune --dry-run reports what would go and changes nothing", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using db = openDatabase(path);
    tenDays(db);
  }
  const dump = () => {
    using db = openDatabase(path);
    return ["rounds", "rounds_ports", "packets", "ports"].map((t) => count(db, t));
  };
  const before = dump();
  const { result, text } = prune(path, { dryRun: true, keepPacketsMs: DAY });
  assert.deepEqual(dump(), before);
  assert.equal(result.rounds, 288);
  assert.equal(result.rows.packets, 288 * 30);
  assert.equal(result.agedPackets, (960 - 288 - 96) * 30);
  assert.match(text, /^Would remove 288 rounds/);
});

Deno.test("prune --max-size removes the oldest rounds until the file fits", () => {
  using dir = tempDir();
  const path = `${dir.path}/pad.db`;
  {
    using db = openDatabase(path);
    seedRounds(
      db,
      Array.from({ length: 400 }, (_, i) => ({ start: NOW - DAY + i * 60_000, packets: 200 })),
    );
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const before = Deno.statSync(path).size;
  const limit = Math.floor(before / 3);
  const { result } = prune(path, { maxSizeBytes: limit });
  assert.ok(result.fits);
  assert.ok(Deno.statSync(path).size <= limit, `${Deno.statSync(path).size} > ${limit}`);
  using db = openDatabase(path);
  const left = db.prepare("SELECT min(start_time) AS first, count(*) AS n FROM rounds").get()!;
  assert.ok(Number(left.n) > 0 && Number(left.n) < 400);
  assert.equal(left.first, NOW - DAY + (400 - Number(left.n)) * 60_000); // the oldest went first
  assert.equal(orphans(db), 0);
});

Deno.test("pad prune rejects bad durations and sizes with exit 2 and one line", async () => {
  using dir = tempDir();
  for (
    const args of [["--keep", "7"], ["--keep", "-3d"], ["--keep-packets", "1y"], [
      "--max-size",
      "big",
    ]]
  ) {
    const run = await runPad(["--db", `${dir.path}/pad.db`, "prune", ...args]);
    assert.equal(run.code, 2, args.join(" "));
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(args[0]!));
  }
  assert.throws(() => Deno.statSync(`${dir.path}/pad.db`), Deno.errors.NotFound);
});
