/**
 * Every file pad writes refuses the database (and its journals and locks) and anything that is
 * not a regular file, through the real CLI: a hostile test once destroyed a database with
 * `pad export --prometheus pad.db`, and turned `/dev/null` into a file with `report -o`.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../src/store/database.ts";
import { type PadRun, runPad, tempDir } from "../fixtures/pad_cli.ts";
import { count, seedRounds } from "./support/seed.ts";

const IS_ROOT = Deno.uid() === 0;

/** A database with three rounds; returns its bytes before anything is tried on it. */
function seeded(db: string): Uint8Array {
  using conn = openDatabase(db);
  seedRounds(conn, [0, 1, 2].map((i) => ({ start: Date.now() - (3 - i) * 60_000, ports: [22] })));
  conn.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return Deno.readFileSync(db);
}

function refused(run: PadRun, flag: string, what: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "");
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`Invalid ${flag} ".*": `));
  assert.match(run.stderr, what);
}

function rounds(db: string): number {
  using conn = openDatabase(db);
  return count(conn, "rounds");
}

/** Makes a character device node like /dev/null (1, 3) at `path`; false when not root. */
async function makeNullDevice(path: string): Promise<boolean> {
  if (!IS_ROOT) return false;
  const made = await new Deno.Command("mknod", { args: ["-m", "666", path, "c", "1", "3"] })
    .output();
  return made.success;
}

async function makeFifo(path: string): Promise<void> {
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, "mkfifo");
}

Deno.test("--prometheus refuses the database, its journals, its locks and links to it, in every command", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const before = seeded(db);
  Deno.writeFileSync(`${db}-wal`, new Uint8Array());
  Deno.writeFileSync(`${db}.collect.lock`, new Uint8Array());
  Deno.symlinkSync(db, `${dir.path}/link.prom`);
  Deno.linkSync(db, `${dir.path}/hard.prom`);
  const targets = [db, `${db}-wal`, `${db}.collect.lock`, `${dir.path}/link.prom`];
  targets.push(`${dir.path}/hard.prom`);
  for (const target of targets) {
    const runs = [
      await runPad(["--db", db, "export", "--prometheus", target]),
      await runPad(["--db", db, "collect", "--no-capture", "--probe", "procfs", "--duration", "1s"]
        .concat(["--prometheus", target])),
      await runPad(["--db", db, "detect", "--prometheus", target]),
      await runPad(["--db", db, "cron", "--prometheus", target]),
    ];
    for (const run of runs) {
      refused(run, "--prometheus", /it is pad's database or one of its files/);
    }
  }
  assert.deepEqual(Deno.readFileSync(db), before, "the database is byte for byte the same");
  assert.equal(rounds(db), 3, "collect stored no round: it refused before it began");
});

Deno.test("report -o, --prometheus and model files refuse a device node and a named pipe, which stay what they were", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  seeded(db);
  const fifo = `${dir.path}/pipe`;
  await makeFifo(fifo);
  const device = `${dir.path}/null`;
  const targets: [string, RegExp][] = [[fifo, /it is a named pipe, not a regular file/]];
  if (await makeNullDevice(device)) {
    targets.push([device, /it is a character device, not a regular file/]);
  } else {
    console.warn("not root: the device node case is skipped (mknod needs root)");
  }
  targets.push([dir.path, /it is a directory, not a regular file/]);
  for (const [target, why] of targets) {
    const kind = (path: string) => {
      const info = Deno.statSync(path);
      return [info.isFile, info.isFifo, info.isCharDevice, info.isDirectory];
    };
    const was = kind(target);
    refused(await runPad(["--db", db, "report", "-o", target]), "-o", why);
    refused(await runPad(["--db", db, "export", "--prometheus", target]), "--prometheus", why);
    refused(await runPad(["--db", db, "model", "export", target]), "FILE", why);
    refused(
      await runPad(["--db", db, "model", "merge", "a.padmodel", "b.padmodel", "-o", target]),
      "-o",
      why,
    );
    assert.deepEqual(kind(target), was, `${target} is still what it was`);
  }
});

Deno.test("model merge -o and model export refuse the database", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const before = seeded(db);
  refused(
    await runPad(["--db", db, "model", "merge", "a.padmodel", "b.padmodel", "-o", db]),
    "-o",
    /it is pad's database/,
  );
  refused(await runPad(["--db", db, "model", "export", db]), "FILE", /it is pad's database/);
  assert.deepEqual(Deno.readFileSync(db), before);
});

Deno.test("--db naming a device, a pipe or a directory is refused without writing beside it", async () => {
  using dir = tempDir();
  const fifo = `${dir.path}/pipe`;
  await makeFifo(fifo);
  const device = `${dir.path}/null`;
  const targets = [fifo, dir.path];
  if (await makeNullDevice(device)) targets.push(device);
  for (const target of targets) {
    for (const args of [["init"], ["inspect"], ["detect"], ["collect", "--no-capture"]]) {
      const run = await runPad(["--db", target, ...args]);
      assert.equal(run.code, 2, `${args[0]} on ${target}: ${run.stderr}`);
      assert.match(
        run.stderr,
        /Invalid database ".*" \(--db or \$PAD_DB\): it is a .*, not a database file/,
      );
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    }
  }
  const left = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assert.deepEqual(left, IS_ROOT ? ["null", "pipe"] : ["pipe"], "no journal or lock beside them");
});
