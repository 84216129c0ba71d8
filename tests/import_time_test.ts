/**
 * Time stamps through the real CLI: classic pcap seconds are unsigned (2038–2106 stay there),
 * a stamp no round can hold is skipped with one warning, and each packet goes to the round of
 * its own time whatever order the file holds them in.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ethernet, ipv4, udp } from "../fixtures/frames.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { encodePcap, type PcapRecord } from "../fixtures/pcap_writer.ts";
import {
  encodePcapng,
  enhancedPacket,
  interfaceDescription,
  sectionHeader,
} from "../fixtures/pcapng_writer.ts";

const MINUTE = 60_000;
const T0 = Date.parse("2026-11-21T10:00:00Z");
const TCPDUMP_TESTS = new URL("../../shared/pcaps/tcpdump-tests/", import.meta.url);
const haveTcpdumpTests = (() => {
  try {
    return Deno.statSync(TCPDUMP_TESTS).isDirectory;
  } catch {
    return false;
  }
})();

function query(db: string, sql: string) {
  using conn = new DatabaseSync(db, { readOnly: true });
  return conn.prepare(sql).all().map((r) => ({ ...r }));
}

/** A UDP packet from 192.168.1.20:40000 to 192.0.2.1:`port`, as an Ethernet frame. */
function packet(port: number): Uint8Array {
  return ethernet({
    ethertype: 0x0800,
    payload: ipv4({
      src: "192.168.1.20",
      dst: "192.0.2.1",
      protocol: 17,
      payload: udp(40_000, port, new Uint8Array(8)),
    }),
  });
}

/** Rounds as (start, packets) pairs, in time order. */
function rounds(db: string): [string, number][] {
  return query(db, "SELECT start_time, packets_seen FROM rounds ORDER BY start_time").map((r) => [
    new Date(r.start_time as number).toISOString(),
    r.packets_seen as number,
  ]);
}

/** Every reader works on the database: inspect of every table, report, detect and prune. */
async function readable(db: string, dir: string): Promise<void> {
  for (const table of ["rounds", "rounds_ports", "packets", "round_traffic", "round_scores"]) {
    const run = await runPad(["--db", db, "inspect", table, "--format", "table", "--limit", "0"]);
    assert.equal(run.code, 0, `inspect ${table}: ${run.stderr}`);
  }
  for (
    const args of [
      ["report", "-o", `${dir}/report.html`, "--since", "1970-01-01"],
      ["detect", "--max-epochs", "1"],
      ["export", "--prometheus", `${dir}/pad.prom`],
      ["prune"],
    ]
  ) {
    const run = await runPad(["--db", db, ...args]);
    assert.equal(run.code, 0, `${args[0]}: ${run.stderr}`);
    assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
  }
}

Deno.test("pad import reads classic pcap seconds unsigned: stamps after 2038 stay in 2038–2106", async () => {
  using dir = tempDir();
  const file = `${dir.path}/late.pcap`;
  const seconds = [0x7fffffff, 0x80000000, 0x83000000, 0xffffffff];
  Deno.writeFileSync(
    file,
    encodePcap(1, seconds.map((s) => ({ tsMs: s * 1000, data: packet(53) }))),
  );
  const db = `${dir.path}/pad.db`;
  const run = await runPad(["--db", db, "import", file]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  assert.deepEqual(rounds(db), [
    ["2038-01-19T03:14:00.000Z", 2],
    ["2039-08-24T16:14:00.000Z", 1],
    ["2106-02-07T06:28:00.000Z", 1],
  ]);
  await readable(db, dir.path);
});

Deno.test({
  name: "tcpdump's time_20xx captures import at the times tshark reads in them",
  ignore: !haveTcpdumpTests,
  async fn() {
    using dir = tempDir();
    // tshark -r FILE -T fields -e frame.time_epoch
    const expected: [string, number][] = [
      ["time_2038.pcap", 2145916800],
      ["time_2038_max.pcap", 2147483647],
      ["time_2038_overflow.pcap", 2147483648],
      ["time_2039.pcap", 2177452800],
      ["time_2106.pcap", 4291747200],
      ["time_2106_max.pcap", 4294967295],
      ["time_2106_overflow.pcapng", 4294967296],
      ["time_2107.pcapng", 4323283200],
    ];
    for (const [name, epoch] of expected) {
      const db = `${dir.path}/${name}.db`;
      const run = await runPad(["--db", db, "import", new URL(name, TCPDUMP_TESTS).pathname]);
      assert.equal(run.code, 0, `${name}: ${run.stderr}`);
      const [round] = query(db, "SELECT start_time FROM rounds");
      assert.equal(round!.start_time, Math.floor(epoch / 60) * MINUTE, name);
    }
  },
});

Deno.test("a pcapng stamp no round can hold is skipped with one warning; the rest is imported", async () => {
  using dir = tempDir();
  const file = `${dir.path}/absurd.pcapng`;
  const micro = (ms: number) => BigInt(ms) * 1000n;
  Deno.writeFileSync(
    file,
    encodePcapng([
      sectionHeader(true),
      interfaceDescription(true, { linkType: 1 }),
      enhancedPacket(true, { timestamp: micro(T0), data: packet(53) }),
      // 2^62 µs: year 146,000-odd.
      enhancedPacket(true, { timestamp: 1n << 62n, data: packet(53) }),
      enhancedPacket(true, { timestamp: micro(T0 + 1000), data: packet(53) }),
    ]),
  );
  const db = `${dir.path}/pad.db`;
  const run = await runPad(["--db", db, "import", file]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(
    lines[0]!,
    /1 frames are stamped where no round can be, before 1970 or after 9999 \(the first, frame 2, at <\d+ ms>\): they were not imported/,
  );
  assert.deepEqual(rounds(db), [["2026-11-21T10:00:00.000Z", 2]]);
  await readable(db, dir.path);
});

Deno.test("each packet goes to the round of its own time: a stray 2030 stamp, two captures joined in the wrong order", async () => {
  using dir = tempDir();
  const minute = (k: number, n: number, port = 53): PcapRecord[] =>
    Array.from({ length: n }, (_, i) => ({ tsMs: T0 + k * MINUTE + i * 100, data: packet(port) }));
  const stray: PcapRecord = { tsMs: Date.parse("2030-01-01T00:00:30Z"), data: packet(9999) };
  const file = `${dir.path}/mixed.pcap`;
  Deno.writeFileSync(
    file,
    encodePcap(1, [
      ...minute(0, 50),
      stray,
      ...minute(1, 40),
      ...minute(2, 30),
      // A second capture, earlier, appended after the first.
      ...minute(-60, 20),
      ...minute(-59, 10),
    ]),
  );
  const db = `${dir.path}/pad.db`;
  const run = await runPad(["--db", db, "import", file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Imported .*mixed\.pcap: 6 rounds, 151 IP packets of 151 frames/);
  assert.match(
    run.stderr,
    /2 frames are stamped earlier than the frame before them; each went to the round of its own time/,
  );
  assert.deepEqual(rounds(db), [
    ["2026-11-21T09:00:00.000Z", 20],
    ["2026-11-21T09:01:00.000Z", 10],
    ["2026-11-21T10:00:00.000Z", 50],
    ["2026-11-21T10:01:00.000Z", 40],
    ["2026-11-21T10:02:00.000Z", 30],
    ["2030-01-01T00:00:00.000Z", 1],
  ]);
  await readable(db, dir.path);
});

Deno.test("a round stamped where no round can be, stored by an older pad, is read, reported and pruned", async () => {
  using dir = tempDir();
  const db = `${dir.path}/pad.db`;
  const file = `${dir.path}/ok.pcap`;
  Deno.writeFileSync(file, encodePcap(1, [{ tsMs: Date.now() - MINUTE, data: packet(53) }]));
  assert.equal((await runPad(["--db", db, "import", file])).code, 0);
  {
    // What pad 0.2.0 stored for tcpdump's time_2106.pcap: the seconds read sign-extended.
    using conn = new DatabaseSync(db);
    conn.prepare(
      "INSERT INTO rounds (start_time, end_time, status, source) VALUES (?, ?, 'complete', 'import')",
    ).run(18446744069414584000, 18446744069414644000);
  }
  const inspect = await runPad(["--db", db, "inspect", "rounds", "--format", "table"]);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /<18446744069414584000 ms>/);
  const metrics = `${dir.path}/pad.prom`;
  assert.equal((await runPad(["--db", db, "export", "--prometheus", metrics])).code, 0);
  const stale = /pad_last_round_end_timestamp_seconds\{[^}]*\} (\S+)/.exec(
    Deno.readTextFileSync(metrics),
  );
  assert.ok(stale && Number(stale[1]) * 1000 <= Date.now(), "the newest round is a real one");
  await readable(db, dir.path);
  assert.equal(query(db, "SELECT count(*) AS n FROM rounds")[0]!.n, 1, "prune removed it");
});
