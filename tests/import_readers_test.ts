import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type ImportOptions, runImport } from "../src/commands/import.ts";
import { BufferOutput } from "../src/output.ts";
import { ethernet, ipv4, udp } from "../fixtures/frames.ts";
import { mixedFrames, writeMixedCapture } from "../fixtures/mixed_capture.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";
import { encodePcap, type PcapRecord } from "../fixtures/pcap_writer.ts";
import {
  encodePcapng,
  enhancedPacket,
  interfaceDescription,
  sectionHeader,
} from "../fixtures/pcapng_writer.ts";

const PCAPS = new URL("../../shared/pcaps/", import.meta.url);
const SHARED = (() => {
  try {
    return [...Deno.readDirSync(PCAPS)].filter((e) => e.name.endsWith(".pcap"))
      .map((e) => new URL(e.name, PCAPS).pathname).sort();
  } catch {
    return [];
  }
})();

/** Every row of the tables an import writes, in id order, as comparable text. */
function tables(db: string): Record<string, string[]> {
  using conn = new DatabaseSync(db, { readOnly: true });
  // Import writes without checking foreign keys: what it wrote must hold them all the same.
  assert.deepEqual(conn.prepare("PRAGMA foreign_key_check").all(), [], db);
  const dump = (sql: string) =>
    conn.prepare(sql).all().map((row) =>
      // When it was imported differs from one import to the next, and is not what is compared.
      JSON.stringify(
        row,
        (key, value) =>
          key === "imported_at" ? undefined : value instanceof Uint8Array ? [...value] : value,
      )
    );
  return {
    rounds: dump("SELECT * FROM rounds ORDER BY id"),
    ports: dump("SELECT * FROM ports ORDER BY id"),
    round_traffic: dump("SELECT * FROM round_traffic ORDER BY id"),
    packets: dump("SELECT * FROM packets ORDER BY id"),
    flows: dump("SELECT * FROM flows ORDER BY id"),
  };
}

function importInto(db: string, file: string, options: Partial<ImportOptions> = {}) {
  return runImport(
    { db, file, roundLengthMs: 60_000, maxPackets: 10_000, payloadBytes: 0, ...options },
    new BufferOutput(),
  );
}

/** Imports `file` through pad's reader and through libpcap; asserts identical tables. */
async function assertSameImport(
  dir: string,
  file: string,
  options: Partial<ImportOptions>,
): Promise<void> {
  const ours = `${dir}/${crypto.randomUUID()}.db`;
  const theirs = `${dir}/${crypto.randomUUID()}.db`;
  const a = await importInto(ours, file, options);
  const b = await importInto(theirs, file, { ...options, reader: "libpcap" });
  assert.equal(a.reader, "pad", file);
  assert.equal(b.reader, "libpcap", file);
  assert.deepEqual({ ...a, seconds: 0, packetsPerSecond: 0, reader: "" }, {
    ...b,
    seconds: 0,
    packetsPerSecond: 0,
    reader: "",
  });
  const expected = tables(theirs);
  const actual = tables(ours);
  for (const table of Object.keys(expected)) {
    assert.equal(actual[table]!.length, expected[table]!.length, `${file}: ${table} rows`);
    actual[table]!.forEach((row, i) => assert.equal(row, expected[table]![i], `${table} #${i}`));
  }
  assert.ok(expected.rounds!.length > 0, file);
}

Deno.test("pad import stores the same rounds, counts and packet rows through its reader as through libpcap", async () => {
  using dir = tempDir();
  const mixed = `${dir.path}/mixed.pcap`;
  const mixedNg = `${dir.path}/mixed.pcapng`;
  // More remote addresses than pad's address caches hold, over several rounds.
  writeMixedCapture(mixed, 15_000, "pcap", { remotes: 100_000, spanMs: 180_000 });
  writeMixedCapture(mixedNg, 15_000, "pcapng", { remotes: 100_000, spanMs: 180_000 });
  const settings: Partial<ImportOptions>[] = [
    {},
    { roundLengthMs: 10_000, maxPackets: 700, payloadBytes: 12 },
    { local: ["93.184.0.0/17", "2001:db8:1::/116"], roundLengthMs: 45_000, payloadBytes: 3 },
  ];
  for (const file of [mixed, mixedNg, ...SHARED]) {
    for (const options of settings) await assertSameImport(dir.path, file, options);
  }
});

function frames(count: number): PcapRecord[] {
  return [...mixedFrames(count, { spanMs: 150_000 })];
}

Deno.test("pad import keeps everything before a truncated last record and warns, through either reader", async () => {
  using dir = tempDir();
  const records = frames(2_000);
  const whole = encodePcap(1, records);
  const lastSize = 16 + records.at(-1)!.data.length;
  const file = `${dir.path}/capture.pcap`;
  // What the complete records alone give.
  Deno.writeFileSync(file, whole.subarray(0, whole.length - lastSize));
  const expectedDb = `${dir.path}/expected.db`;
  await importInto(expectedDb, file, { maxPackets: 0 }); // what the CLI stores by default
  const expected = tables(expectedDb);
  for (const cut of [5, 16, lastSize - 1]) {
    Deno.writeFileSync(file, whole.subarray(0, whole.length - lastSize + cut));
    for (const filter of [[], ["--filter", "ip or not ip"]]) {
      const db = `${dir.path}/${crypto.randomUUID()}.db`;
      const run = await runPad(["--db", db, "import", file, ...filter]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /1999 frames/);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.match(
        lines[0]!,
        /warning.*capture\.pcap ends inside frame 2000 \(truncated dump file; .*\): the 1999 frames before it were imported/,
      );
      assert.deepEqual(tables(db), expected, `cut ${cut} ${filter.join(" ")}`);
    }
  }
});

Deno.test("pad import stops at a corrupt record with one clear line and exit 1, keeping what came before", async () => {
  using dir = tempDir();
  const records = frames(1_500);
  const file = `${dir.path}/capture.pcap`;
  Deno.writeFileSync(file, encodePcap(1, records.slice(0, 1_000)));
  const expectedDb = `${dir.path}/expected.db`;
  await importInto(expectedDb, file, { maxPackets: 0 }); // what the CLI stores by default
  const bytes = encodePcap(1, records);
  // Record 1,001 claims 300,000 captured bytes: more than any link type allows.
  let at = 24;
  for (const record of records.slice(0, 1_000)) at += 16 + record.data.length;
  new DataView(bytes.buffer).setUint32(at + 8, 300_000, true);
  Deno.writeFileSync(file, bytes);
  const db = `${dir.path}/pad.db`;
  const run = await runPad(["--db", db, "import", file]);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /1000 frames/);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(
    lines[0]!,
    /Cannot import all of .*capture\.pcap: frame 1001 is corrupt \(invalid packet capture length 300000, bigger than snaplen of 262144\); the 1000 frames before it were imported/,
  );
  assert.deepEqual(tables(db), tables(expectedDb));
});

Deno.test("pad import reads a pcapng file whose interfaces differ in link type (libpcap refuses it)", async () => {
  using dir = tempDir();
  const file = `${dir.path}/two.pcapng`;
  const packet = ipv4({ src: "10.0.0.2", dst: "192.0.2.7", protocol: 17, payload: udp(5000, 53) });
  const t0 = BigInt(Date.UTC(2026, 10, 21, 10, 0, 0)) * 1000n;
  Deno.writeFileSync(
    file,
    encodePcapng([
      sectionHeader(true),
      interfaceDescription(true, { linkType: 1 }),
      interfaceDescription(true, { linkType: 101, tsresol: 9 }),
      enhancedPacket(true, {
        interfaceId: 0,
        timestamp: t0,
        data: ethernet({ ethertype: 0x0800, payload: packet }),
      }),
      enhancedPacket(true, { interfaceId: 1, timestamp: (t0 + 1000n) * 1000n, data: packet }),
    ]),
  );
  const db = `${dir.path}/pad.db`;
  const result = await importInto(db, file, { maxPackets: 10 });
  assert.equal(result.reader, "pad");
  assert.equal(result.packets, 2);
  const { packets } = tables(db);
  assert.deepEqual(packets!.map((row) => JSON.parse(row).protocols), [
    "eth:ipv4:udp",
    "raw:ipv4:udp",
  ]);
  await assert.rejects(() => importInto(`${dir.path}/libpcap.db`, file, { reader: "libpcap" }));
});
