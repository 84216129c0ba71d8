/**
 * A database in trouble, through the real CLI: damaged pages, a disk full to the last byte, a
 * read-only file system, a prune that removes rounds while detect scores them. Each gives one
 * line that says what is wrong and what to do, the right exit code, and loses nothing more.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type PadRun, runPad, spawnPad, tempDir } from "../fixtures/pad_cli.ts";
import { storeRoundHistory } from "../fixtures/history.ts";
import { generateHistory } from "../fixtures/synthetic.ts";
import { openDatabase } from "../src/store/database.ts";
import { RESERVE_BYTES } from "../src/store/reserve.ts";
import { count, seedRounds } from "./support/seed.ts";
import { waitFor } from "./support/wait.ts";
import { writeLanCapture } from "../fixtures/lan_capture.ts";

const IS_ROOT = Deno.uid() === 0;
const DAY = 86_400_000;

/** One line on stderr matching `pattern`, and `code`. */
function oneLine(run: PadRun, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, run.stderr);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.match(run.stderr, pattern);
}

/** Ten days of rounds with packet rows: old enough for prune to remove most of them. */
function seeded(path: string, rounds = 200, packets = 300): void {
  using db = openDatabase(path);
  const start = Date.now() - 10 * DAY;
  seedRounds(
    db,
    Array.from({ length: rounds }, (_, i) => ({ start: start + i * 60_000, ports: [22], packets })),
  );
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

/** SQL that adds one flow to each round, numbered 1 in its round. */
const FLOW_A_ROUND = `
  INSERT INTO flows (round_id, id, protocol, family, local_addr, port_id, remote_addr, remote_port,
      direction, first_seen, last_seen, packets_in, packets_out, bytes_in, bytes_out)
    SELECT id, 1, 'tcp', 4, '192.0.2.1', 22, '192.0.2.7', 50000, 'in', start_time, start_time,
      1, 1, 60, 60 FROM rounds;`;

/** Overwrites 16 KiB in the middle of the file: a few pages of packet rows. */
function damage(path: string): void {
  const bytes = Deno.readFileSync(path);
  bytes.fill(0x55, bytes.length >> 1, (bytes.length >> 1) + 16_384);
  Deno.writeFileSync(path, bytes);
}

async function mount(args: string[]): Promise<void> {
  const run = await new Deno.Command("mount", { args, stderr: "piped" }).output();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
}

async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir] }).output();
}

const DAMAGED =
  /Database .*pad\.db is damaged \(SQLite: .*\): restore it from a backup, or copy what it still holds into a new one with: pad --db .*pad\.db\.recovered init --recover .*pad\.db/;

Deno.test("a damaged database: inspect fails instead of printing a shorter table; init --recover saves the rest", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  seeded(db);
  {
    // A flow a round, and an incident with one anomaly: tables the copy must not leave behind.
    using conn = new DatabaseSync(db);
    conn.exec(`${FLOW_A_ROUND}
      INSERT INTO incidents (id, kind, cause_key, summary, start_time, end_time, opened_at)
        VALUES (1, 'new listener', 'new listener tcp/22', 'tcp/22 opened', 0, 0, 0);
      INSERT INTO anomalies (round_id, detected_at, reason, incident_id)
        VALUES (1, 0, 'new listener', 1);
      PRAGMA wal_checkpoint(TRUNCATE);`);
  }
  damage(db);
  // node:sqlite's iterator ends quietly at a damaged page; inspect must not look complete.
  const dump = await runPad(["--db", db, "inspect", "packets", "--limit", "0", "--format", "tsv"]);
  assert.equal(dump.code, 1, "inspect of a damaged table fails");
  oneLine(dump, 1, DAMAGED);
  for (const args of [["inspect"], ["prune"], ["detect"]]) {
    oneLine(await runPad(["--db", db, ...args]), 1, DAMAGED);
  }
  const doctor = await runPad(["--db", db, "doctor"]);
  assert.match(doctor.stdout, /fail\s+database\s+Database .*is damaged/);

  const saved = `${db}.recovered`;
  const recover = await runPad(["--db", saved, "init", "--recover", db]);
  assert.equal(recover.code, 0, recover.stderr);
  const packets = /packets\t(\d+) rows recovered \((\d+) unreadable stretches skipped\)/.exec(
    recover.stdout,
  );
  assert.ok(packets, recover.stdout);
  assert.ok(Number(packets[1]) > 0.9 * 200 * 300, `most packet rows saved: ${packets[1]}`);
  assert.match(recover.stdout, /^rounds\t200 rows recovered$/m);
  for (const table of ["port_traffic", "flows"]) {
    assert.match(recover.stdout, new RegExp(`^${table}\t200 rows recovered$`, "m"));
  }
  for (const table of ["incidents", "anomalies"]) {
    assert.match(recover.stdout, new RegExp(`^${table}\t1 rows recovered$`, "m"));
  }
  const inspect = await runPad(["--db", saved, "inspect"]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal((await runPad(["--db", saved, "prune", "--keep", "30d"])).code, 0);
  {
    using conn = new DatabaseSync(saved, { readOnly: true });
    assert.deepEqual(conn.prepare("PRAGMA foreign_key_check").all(), []);
    assert.equal(count(conn as never, "rounds"), 200);
  }
  const again = await runPad(["--db", saved, "init", "--recover", db]);
  oneLine(again, 2, /Invalid --db ".*": it already holds rounds; recover into a new file/);
});

Deno.test("init --recover drops the rows of a round it could not save, and unlinks an incident's anomaly", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  seeded(db, 3, 2);
  {
    // Round 2 lost, its rows left behind (as a damaged page of rounds would leave them).
    using conn = new DatabaseSync(db);
    conn.exec(`${FLOW_A_ROUND}
      PRAGMA foreign_keys = OFF;
      DELETE FROM rounds WHERE id = 2;
      INSERT INTO anomalies (round_id, detected_at, reason, incident_id)
        VALUES (3, 0, 'new listener', 9);`);
    // Incident 9 is missing: its anomaly stays, unlinked, as ON DELETE SET NULL leaves one.
  }
  const recover = await runPad(["--db", `${db}.recovered`, "init", "--recover", db]);
  assert.equal(recover.code, 0, recover.stderr);
  for (const table of ["port_traffic", "flows"]) {
    assert.match(
      recover.stdout,
      new RegExp(
        `^${table}\t2 rows recovered \\(1 rows dropped whose round or parent row was lost\\)$`,
        "m",
      ),
    );
  }
  using saved = new DatabaseSync(`${db}.recovered`, { readOnly: true });
  assert.deepEqual(saved.prepare("PRAGMA foreign_key_check").all(), []);
  assert.deepEqual(
    saved.prepare("SELECT round_id, id FROM flows ORDER BY round_id").all().map((r) => [
      r.round_id,
      r.id,
    ]),
    [[1, 1], [3, 1]],
  );
  assert.match(recover.stdout, /^anomalies\t1 rows recovered$/m);
  assert.deepEqual(
    saved.prepare("SELECT round_id, incident_id FROM anomalies").all().map((r) => ({ ...r })),
    [{ round_id: 3, incident_id: null }],
  );
});

Deno.test({
  name: "a disk full to the last byte: collect says so in one line, prune frees space anyway",
  ignore: !IS_ROOT,
  async fn() {
    using dir = tempDir();
    const disk = `${dir.path}/disk`;
    Deno.mkdirSync(disk);
    await mount(["-t", "tmpfs", "-o", "size=16m", "tmpfs", disk]);
    try {
      const db = `${disk}/pad.db`;
      seeded(db, 60, 400);
      const reserve = Deno.statSync(`${db}.reserve`);
      assert.equal(reserve.size, RESERVE_BYTES, "the reserve is made with the database");
      // Its blocks are taken (a sparse file would give nothing back when the disk is full).
      assert.ok(reserve.blocks! * 512 >= RESERVE_BYTES, `${reserve.blocks} blocks`);
      // Fill what is left, to the last block.
      const filler = await Deno.open(`${disk}/filler`, { write: true, create: true });
      const block = new Uint8Array(65_536);
      try {
        for (;;) await filler.write(block);
      } catch {
        // ENOSPC: full
      }
      filler.close();
      const collect = ["--db", db, "collect", "--no-capture", "--probe", "procfs"];
      oneLine(
        await runPad([...collect, "--duration", "1s"]),
        1,
        /Cannot write database .*pad\.db: the disk it is on is full \(0\.0 MB free\); free space there, or run "pad prune"/,
      );
      const prune = await runPad(["--db", db, "prune"]);
      assert.equal(prune.code, 0, prune.stderr);
      assert.match(prune.stdout, /^Removed 60 rounds/);
      assert.match(prune.stderr, /The disk holding .*pad\.db is full: pruning in small steps/);
      assert.equal(Deno.statSync(`${db}.reserve`).size, RESERVE_BYTES, "the reserve is made again");
      const after = await runPad([...collect, "--duration", "1s"]);
      assert.equal(after.code, 0, after.stderr);
    } finally {
      await unmount(disk);
    }
  },
});

Deno.test({
  name:
    "a database on a read-only file system: read by inspect and report, refused clearly by collect",
  ignore: !IS_ROOT,
  async fn() {
    using dir = tempDir();
    const disk = `${dir.path}/disk`;
    Deno.mkdirSync(disk);
    await mount(["-t", "tmpfs", "-o", "size=16m", "tmpfs", disk]);
    try {
      const db = `${disk}/pad.db`;
      seeded(db, 5, 10);
      await mount(["-o", "remount,ro", disk]);
      const inspect = await runPad(["--db", db, "inspect", "rounds", "--format", "tsv"]);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.equal(inspect.stdout.trim().split("\n").length, 6);
      const report = await runPad(["--db", db, "report", "-o", `${dir.path}/r.html`]);
      assert.equal(report.code, 0, report.stderr);
      oneLine(
        await runPad(["--db", db, "collect", "--no-capture", "--probe", "procfs"]),
        1,
        /Cannot write database .*pad\.db: it is read-only \(.*\); check the permissions of the file and of .*disk, and that its file system is mounted read-write/,
      );
    } finally {
      await unmount(disk);
    }
  },
});

Deno.test("a prune that removes the rounds detect is scoring: detect ends normally", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  {
    using conn = openDatabase(db);
    // Three hours, a month ago: every round is older than prune's --keep.
    const old = Date.now() - 30 * DAY;
    storeRoundHistory(
      conn,
      generateHistory({ seed: 23, rounds: 180 }).map((r, i) => ({
        ...r,
        startTime: old + i * 60_000,
      })),
    );
  }
  const detect = spawnPad(["--db", db, "detect"]);
  let detectDone = false;
  detect.status.then(() => detectDone = true);
  await waitFor(
    () => {
      using conn = new DatabaseSync(db, { readOnly: true });
      return Number(conn.prepare("SELECT count(*) AS n FROM round_scores").get()!.n) >= 60;
    },
    "detect's first hour of scores",
    60_000,
  );
  const prune = await runPad(["--db", db, "prune", "--keep", "1d"]);
  assert.equal(prune.code, 0, prune.stderr);
  assert.ok(!detectDone, "prune removed the rounds while detect was still at work");
  const output = await detect.output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.doesNotMatch(stderr, /error/);
  using conn = new DatabaseSync(db, { readOnly: true });
  assert.equal(Number(conn.prepare("SELECT count(*) AS n FROM rounds").get()!.n), 0);
});

Deno.test({
  name:
    "a disk that fills during an import: one line and exit 1, whole rounds kept; the same import then resumes and stores each round once",
  ignore: !IS_ROOT,
  async fn() {
    using dir = tempDir();
    const disk = `${dir.path}/disk`;
    Deno.mkdirSync(disk);
    const capture = `${dir.path}/lan.pcap`;
    writeLanCapture(capture, 300_000, { spanMs: 5 * 3_600_000 });
    // The database's 4 MiB reserve, and about 4 MB for the rest: part of the capture's rounds.
    await mount(["-t", "tmpfs", "-o", "size=8m", "tmpfs", disk]);
    try {
      const db = `${disk}/pad.db`;
      oneLine(
        await runPad(["--db", db, "import", capture]),
        1,
        /Cannot write database .*pad\.db: the disk it is on is full \(.* MB free\); free space there, or run "pad prune".*; then run the same pad import again: it keeps the rounds already stored and adds the rest/,
      );
      const stored = (sql: string) => {
        using conn = new DatabaseSync(db, { readOnly: true });
        return { ...conn.prepare(sql).get() };
      };
      const ROUNDS = "SELECT count(*) AS n, count(DISTINCT start_time) AS slots, " +
        "sum(status = 'complete') AS complete, sum(packets_seen) AS packets FROM rounds";
      const first = stored(ROUNDS);
      assert.ok(Number(first.n) > 0 && Number(first.n) < 300, `${first.n} rounds kept`);
      assert.equal(first.complete, first.n);

      await mount(["-o", "remount,size=64m", disk]);
      const resumed = await runPad(["--db", db, "import", capture]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(
        resumed.stdout,
        new RegExp(
          `^Imported .*: 300 rounds \\(${first.n} of them stored before, by the import of .* that stopped\\), 295685 IP packets`,
        ),
      );
      // Each minute once, with every packet of the capture: as one import that never stopped.
      const whole = `${dir.path}/whole.db`;
      assert.equal((await runPad(["--db", whole, "import", capture])).code, 0);
      using conn = new DatabaseSync(whole, { readOnly: true });
      assert.deepEqual(stored(ROUNDS), { ...conn.prepare(ROUNDS).get() });
      assert.deepEqual(stored("SELECT rounds, complete FROM imports"), {
        rounds: 300,
        complete: 1,
      });
      assert.deepEqual(
        stored("SELECT count(*) AS partial FROM rounds WHERE coverage IS NOT NULL"),
        {
          ...conn.prepare("SELECT count(*) AS partial FROM rounds WHERE coverage IS NOT NULL")
            .get(),
        },
      );
      // Now complete: a third import is refused.
      oneLine(await runPad(["--db", db, "import", capture]), 2, /was imported before/);
    } finally {
      await unmount(disk);
    }
  },
});
