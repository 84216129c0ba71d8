import assert from "node:assert/strict";
import { Pcap, PcapError } from "../ffi/mod.ts";
import { fileSeconds } from "../src/capture/offline.ts";
import { CaptureFileError, PcapFileReader } from "../src/capture/pcap_reader.ts";
import { mulberry32 } from "../src/random.ts";
import {
  block,
  encodePcapng,
  enhancedPacket,
  interfaceDescription,
  obsoletePacket,
  type PcapngInterface,
  sectionHeader,
  simplePacket,
} from "../fixtures/pcapng_writer.ts";
import { tempDir } from "../fixtures/pad_cli.ts";

/** What one reader made of a file: its records, then how it stopped. */
interface Reading {
  records: {
    linkType: number;
    tsSec: number;
    tsUsec: number;
    caplen: number;
    len: number;
    data: Uint8Array;
  }[];
  /** null: clean end of file; else the reason reading stopped (libpcap's words). */
  error: string | null;
}

function viaLibpcap(path: string): Reading {
  const pcapng = new DataView(Deno.readFileSync(path).buffer).getUint32(0) === 0x0a0d0d0a;
  using pcap = Pcap.openOffline(path);
  const records: Reading["records"] = [];
  for (;;) {
    let packet;
    try {
      packet = pcap.next();
    } catch (error) {
      if (!(error instanceof PcapError)) throw error;
      return { records, error: error.libpcapMessage };
    }
    if (packet === "eof") return { records, error: null };
    assert.ok(packet !== null);
    const { tsSec, tsUsec, caplen, len, data } = packet;
    records.push({
      linkType: pcap.datalink(),
      // libpcap 1.10.3 reads a classic file's seconds as signed; pad reads what the file holds.
      tsSec: pcapng ? tsSec : fileSeconds(tsSec),
      tsUsec,
      caplen,
      len,
      data: data.slice(),
    });
  }
}

/** Reads with PcapFileReader, keeping a copy of each frame. */
function viaReader(path: string): Reading | null {
  using reader = PcapFileReader.open(path);
  if (reader === null) return null;
  const records: Reading["records"] = [];
  for (;;) {
    try {
      if (!reader.next()) return { records, error: null };
    } catch (error) {
      if (!(error instanceof CaptureFileError)) throw error;
      return { records, error: error.message };
    }
    assert.equal(reader.data.length, reader.caplen);
    records.push({
      linkType: reader.linkType,
      tsSec: reader.tsSec,
      tsUsec: reader.tsUsec,
      caplen: reader.caplen,
      len: reader.wireLength,
      data: reader.data.slice(), // the reader writes over it with later records
    });
  }
}

/** Asserts that the reader gives exactly what libpcap gives for `bytes`. */
function assertSameAsLibpcap(dir: string, bytes: Uint8Array, label: string): Reading {
  const path = `${dir}/same.cap`;
  Deno.writeFileSync(path, bytes);
  const expected = viaLibpcap(path);
  const actual = viaReader(path);
  assert.ok(actual !== null, `${label}: the reader declined the file`);
  assert.equal(actual.records.length, expected.records.length, `${label}: record count`);
  actual.records.forEach((record, i) => {
    assert.deepEqual(record, expected.records[i], `${label}: record ${i}`);
  });
  assert.equal(actual.error, expected.error, `${label}: how reading stopped`);
  return actual;
}

// ---- classic pcap files written field by field, in either byte order

interface ClassicRecord {
  seconds: number;
  fraction: number;
  data: Uint8Array;
  /** Written as caplen; default data.length (a larger value makes a lying header). */
  caplen?: number;
  len?: number;
}

function classic(options: {
  little: boolean;
  nano?: boolean;
  linkType?: number;
  snaplen?: number;
  version?: [number, number];
  magic?: number;
  records: ClassicRecord[];
}): Uint8Array {
  const { little, records } = options;
  const size = records.reduce((sum, r) => sum + 16 + r.data.length, 24);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, options.magic ?? (options.nano ? 0xa1b23c4d : 0xa1b2c3d4), little);
  view.setUint16(4, options.version?.[0] ?? 2, little);
  view.setUint16(6, options.version?.[1] ?? 4, little);
  view.setUint32(16, options.snaplen ?? 262_144, little);
  view.setUint32(20, options.linkType ?? 1, little);
  let at = 24;
  for (const r of records) {
    view.setUint32(at, r.seconds, little);
    view.setUint32(at + 4, r.fraction, little);
    view.setUint32(at + 8, r.caplen ?? r.data.length, little);
    view.setUint32(at + 12, r.len ?? r.data.length, little);
    bytes.set(r.data, at + 16);
    at += 16 + r.data.length;
  }
  return bytes;
}

function bytesOf(length: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

Deno.test("PcapFileReader reads classic pcap exactly as libpcap: byte orders, µs and ns, link types", () => {
  using dir = tempDir();
  const records: ClassicRecord[] = [
    { seconds: 1_700_000_000, fraction: 123_456, data: bytesOf(60, 1) },
    { seconds: 1_700_000_001, fraction: 999_999_999, data: bytesOf(1514, 2), len: 1514 },
    { seconds: 0, fraction: 0, data: new Uint8Array(0), len: 0 },
    // After 2038 (unsigned, unlike libpcap 1.10.3's signed ts_sec) and fractions out of range.
    { seconds: 0x80000001, fraction: 0x80000005, data: bytesOf(42, 3), len: 9000 },
    { seconds: 0xffffffff, fraction: 0xffffffff, data: bytesOf(14, 4), len: 10 },
  ];
  for (const little of [true, false]) {
    for (const nano of [false, true]) {
      // NFLOG (239) is left to libpcap: it rewrites the TLVs of a file from the other byte order.
      for (
        const linkType of [0, 1, 9, 12, 14, 50, 101, 104, 107, 108, 113, 226, 228, 229, 242]
          .concat([276, 0x04000001])
      ) {
        assertSameAsLibpcap(
          dir.path,
          classic({ little, nano, linkType, records }),
          `little ${little}, nano ${nano}, link type ${linkType}`,
        );
      }
    }
  }
});

Deno.test("PcapFileReader cuts records longer than the snapshot length as libpcap does", () => {
  using dir = tempDir();
  const records: ClassicRecord[] = [
    { seconds: 1, fraction: 2, data: bytesOf(100, 5) },
    { seconds: 1, fraction: 3, data: bytesOf(64, 6) },
    { seconds: 1, fraction: 4, data: bytesOf(20, 7), len: 4000 },
  ];
  for (const snaplen of [0, 64, 65, 1, 262_145, 0xffffffff]) {
    const reading = assertSameAsLibpcap(
      dir.path,
      classic({ little: true, snaplen, records }),
      `snaplen ${snaplen}`,
    );
    assert.equal(reading.records.length, 3);
  }
});

Deno.test("PcapFileReader stops where libpcap stops: every truncation, and a capture length over the maximum", () => {
  using dir = tempDir();
  const records: ClassicRecord[] = [
    { seconds: 10, fraction: 1, data: bytesOf(80, 8) },
    { seconds: 11, fraction: 2, data: bytesOf(90, 9) },
  ];
  for (const snaplen of [262_144, 50]) {
    const whole = classic({ little: false, snaplen, records });
    const lastRecord = whole.length - (16 + 90);
    for (let cut = lastRecord; cut < whole.length; cut++) {
      const reading = assertSameAsLibpcap(dir.path, whole.subarray(0, cut), `cut at ${cut}`);
      assert.equal(reading.records.length, 1);
      if (cut === lastRecord) assert.equal(reading.error, null);
      else assert.match(reading.error!, /^truncated dump file/);
    }
  }
  const lying = classic({
    little: true,
    records: [...records, { seconds: 12, fraction: 0, data: bytesOf(8, 10), caplen: 300_000 }],
  });
  const reading = assertSameAsLibpcap(dir.path, lying, "caplen 300000");
  assert.equal(reading.records.length, 2);
  assert.match(reading.error!, /invalid packet capture length 300000/);
});

Deno.test("PcapFileReader leaves to libpcap what it does not read itself", () => {
  using dir = tempDir();
  const path = `${dir.path}/other.cap`;
  const record = { seconds: 1, fraction: 1, data: bytesOf(40, 11) };
  const declined = [
    classic({ little: true, version: [2, 3], records: [record] }),
    classic({ little: true, magic: 0xa1b2cd34, records: [record] }), // Kuznetzov's format
    classic({ little: true, linkType: 147, records: [record] }),
    new TextEncoder().encode("not a capture file at all\n"),
    new Uint8Array([0xd4, 0xc3]),
    classic({ little: true, records: [] }).subarray(0, 20),
    // pcapng: a packet before any interface, a section without interfaces, version 2.0.
    encodePcapng([sectionHeader(true), simplePacket(true, bytesOf(30, 12))]),
    encodePcapng([sectionHeader(false)]),
    encodePcapng([sectionHeader(true, [2, 0]), interfaceDescription(true, { linkType: 1 })]),
    encodePcapng([sectionHeader(true), interfaceDescription(true, { linkType: 1, tsresol: 20 })]),
  ];
  for (const [i, bytes] of declined.entries()) {
    Deno.writeFileSync(path, bytes);
    assert.equal(PcapFileReader.open(path), null, `file ${i}`);
  }
});

// ---- pcapng

const ETHERNET = bytesOf(74, 20);

function pcapngFile(little: boolean, iface: PcapngInterface, stamps: bigint[]): Uint8Array {
  return encodePcapng([
    sectionHeader(little),
    interfaceDescription(little, iface),
    ...stamps.map((timestamp, i) =>
      enhancedPacket(little, { timestamp, data: ETHERNET.subarray(0, 60 + (i % 14)) })
    ),
  ]);
}

Deno.test("PcapFileReader reads pcapng time stamps as libpcap scales them, in every resolution", () => {
  using dir = tempDir();
  const random = mulberry32(0x5eed);
  const stamps = (scale: number) => [
    0n,
    1n,
    BigInt(Math.floor(1.7e9 * scale)),
    BigInt(Math.floor(1.7e9 * scale)) + 999_999_999n,
    ...Array.from(
      { length: 40 },
      () => BigInt(Math.floor(random() * 2 ** 32)) << 32n | BigInt(Math.floor(random() * 2 ** 32)),
    ),
    0xffffffffffffffffn,
  ];
  const resolutions: [number | undefined, number][] = [
    [undefined, 1e6],
    [6, 1e6],
    [9, 1e9],
    [3, 1e3],
    [0, 1],
    [12, 1e12], // beyond doubles: the BigInt path
    [19, 1e19],
    [0x80 | 20, 2 ** 20],
    [0x80 | 32, 2 ** 32],
    [0x80 | 40, 2 ** 40],
    [0x80 | 63, 2 ** 63],
  ];
  for (const little of [true, false]) {
    for (const [tsresol, scale] of resolutions) {
      for (const tsoffset of [undefined, 0n, 3600n, -5n, 2n ** 60n]) {
        assertSameAsLibpcap(
          dir.path,
          pcapngFile(little, { linkType: 1, tsresol, tsoffset }, stamps(scale)),
          `little ${little}, tsresol ${tsresol}, tsoffset ${tsoffset}`,
        );
      }
    }
  }
});

Deno.test("PcapFileReader reads pcapng packet, simple and obsolete blocks, skipping the others", () => {
  using dir = tempDir();
  for (const little of [true, false]) {
    const data = (n: number) => bytesOf(40 + n, 30 + n);
    const file = encodePcapng([
      sectionHeader(little, [1, 2]),
      block(little, 0x0000000a, bytesOf(10, 1)), // decryption secrets: skipped
      interfaceDescription(little, { linkType: 113, snaplen: 64, tsresol: 9 }),
      interfaceDescription(little, { linkType: 113, snaplen: 64, tsresol: 3 }),
      block(little, 0x00000004, bytesOf(12, 2)), // name resolution: skipped
      enhancedPacket(little, { timestamp: 1_700_000_000_123_456_789n, data: data(1) }),
      enhancedPacket(little, {
        interfaceId: 1,
        timestamp: 1_700_000_000_124n,
        data: data(2),
        wireLength: 1500,
        comment: "a comment after the data",
      }),
      simplePacket(little, data(30), 100), // cut to the first interface's 64 bytes
      simplePacket(little, data(3), 43),
      obsoletePacket(little, { interfaceId: 1, timestamp: 5n, data: data(4) }),
      block(little, 0x00000005, bytesOf(20, 3)), // interface statistics: skipped
      // A new section: its own interfaces, same link type and snapshot length.
      sectionHeader(little),
      interfaceDescription(little, { linkType: 113, snaplen: 64 }),
      enhancedPacket(little, { timestamp: 1_700_000_001_000_000n, data: data(5) }),
    ]);
    const reading = assertSameAsLibpcap(dir.path, file, `little ${little}`);
    assert.equal(reading.records.length, 6);
    assert.deepEqual(
      reading.records.map((r) => [r.linkType, r.tsSec, r.tsUsec, r.caplen, r.len]),
      [
        [113, 1_700_000_000, 123_456, 41, 41],
        [113, 1_700_000_000, 124_000, 42, 1500],
        [113, 0, 0, 64, 100],
        [113, 0, 0, 43, 43],
        [113, 0, 5000, 44, 44],
        [113, 1_700_000_001, 0, 45, 45],
      ],
    );
  }
});

Deno.test("PcapFileReader stops on damaged pcapng blocks where libpcap stops, with its reasons", () => {
  using dir = tempDir();
  const little = true;
  const head = [sectionHeader(little), interfaceDescription(little, { linkType: 1 })];
  const good = enhancedPacket(little, { timestamp: 1n, data: bytesOf(60, 40) });
  const lastPacket = enhancedPacket(little, { timestamp: 2n, data: bytesOf(70, 41) });
  const whole = encodePcapng([...head, good, lastPacket]);
  for (let cut = whole.length - lastPacket.length + 1; cut < whole.length; cut++) {
    const reading = assertSameAsLibpcap(dir.path, whole.subarray(0, cut), `cut at ${cut}`);
    assert.equal(reading.records.length, 1);
    assert.match(reading.error!, /^truncated pcapng dump file/);
  }
  const damaged = (edit: (bytes: Uint8Array, view: DataView) => void) => {
    const bytes = lastPacket.slice();
    edit(bytes, new DataView(bytes.buffer));
    return encodePcapng([...head, good, bytes]);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["trailer", damaged((b, v) => v.setUint32(b.length - 4, 8, little)), /don't match/],
    ["length 8", damaged((_, v) => v.setUint32(4, 8, little)), /length of 8 < 12/],
    ["length 101", damaged((_, v) => v.setUint32(4, 101, little)), /not a multiple of 4/],
    ["length 1 GiB", damaged((_, v) => v.setUint32(4, 2 ** 30, little)), /> maximum/],
    ["interface 3", damaged((_, v) => v.setUint32(8, 3, little)), /interface 3/],
    ["caplen", damaged((_, v) => v.setUint32(20, 262_145, little)), /bigger than snaplen/],
    ["caplen past block", damaged((_, v) => v.setUint32(20, 200, little)), /too short/],
    [
      "section order magic",
      encodePcapng([...head, good, sectionHeader(little).fill(7, 8, 12)]),
      /bad byte order magic/,
    ],
    [
      "tsresol twice",
      encodePcapng([
        ...head,
        good,
        block(little, 1, new Uint8Array([1, 0, 0, 0, 0, 0, 4, 0]), [
          { code: 9, value: new Uint8Array([6]) },
          { code: 9, value: new Uint8Array([9]) },
        ]),
      ]),
      /more than one if_tsresol/,
    ],
  ];
  for (const [label, bytes, reason] of cases) {
    const reading = assertSameAsLibpcap(dir.path, bytes, label);
    assert.equal(reading.records.length, 1, label);
    assert.match(reading.error!, reason, label);
  }
});

Deno.test("PcapFileReader reads pcapng interfaces of different link types and sections of either byte order", () => {
  // libpcap 1.10 stops at the second interface ("an interface has a type … different from the
  // type of the first interface") and at a section of the other byte order.
  using dir = tempDir();
  const path = `${dir.path}/mixed.pcapng`;
  const raw = bytesOf(28, 50);
  raw[0] = 0x45;
  Deno.writeFileSync(
    path,
    encodePcapng([
      sectionHeader(true),
      interfaceDescription(true, { linkType: 1 }),
      interfaceDescription(true, { linkType: 101, tsresol: 9 }),
      enhancedPacket(true, { interfaceId: 1, timestamp: 1_500_000_000n, data: raw }),
      enhancedPacket(true, { interfaceId: 0, timestamp: 2_000_001n, data: ETHERNET }),
      sectionHeader(false),
      interfaceDescription(false, { linkType: 276, tsresol: 3 }),
      enhancedPacket(false, { timestamp: 1_700_000_000_250n, data: raw }),
    ]),
  );
  const reading = viaReader(path);
  assert.ok(reading !== null);
  assert.equal(reading.error, null);
  assert.deepEqual(
    reading.records.map((r) => [r.linkType, r.tsSec, r.tsUsec, r.caplen]),
    [[12, 1, 500_000, 28], [1, 2, 1, 74], [276, 1_700_000_000, 250_000, 28]],
  );
  assert.deepEqual(reading.records[0]!.data, raw);
});

Deno.test("PcapFileReader reads records across many refills of its buffer, one larger than it", () => {
  using dir = tempDir();
  // About 3.6 MB: the 256 KiB buffer is refilled many times, with a record cut at its end each
  // time; record 20,000 (256 KiB) needs a larger buffer, which the records after it reuse.
  const records: ClassicRecord[] = Array.from({ length: 30_000 }, (_, i) => ({
    seconds: 1_700_000_000 + i,
    fraction: i,
    data: bytesOf(i === 20_000 ? 262_144 : 20 + (i % 200), i),
  }));
  const reading = assertSameAsLibpcap(dir.path, classic({ little: true, records }), "30k records");
  reading.records.forEach((r, i) => assert.deepEqual(r.data, records[i]!.data, `record ${i}`));
});

Deno.test("PcapFileReader agrees with libpcap on random valid files (seeded)", () => {
  using dir = tempDir();
  const seed = 0x9ca9;
  const random = mulberry32(seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  for (let file = 0; file < 60; file++) {
    const little = random() < 0.5;
    const count = Math.floor(random() * 50);
    let bytes: Uint8Array;
    if (random() < 0.5) {
      bytes = classic({
        little,
        nano: random() < 0.5,
        linkType: pick([1, 101, 113, 276, 0]),
        snaplen: pick([0, 96, 262_144]),
        records: Array.from({ length: count }, () => {
          const data = bytesOf(Math.floor(random() * 300), Math.floor(random() * 1e9));
          return {
            seconds: Math.floor(random() * 2 ** 32),
            fraction: Math.floor(random() * 2 ** 32),
            data,
            len: data.length + Math.floor(random() * 3) * 100,
          };
        }),
      });
    } else {
      const ifaces = 1 + Math.floor(random() * 3);
      const snaplen = pick([0, 128, 262_144]);
      const limit = snaplen === 0 ? 262_144 : snaplen;
      const blocks = [sectionHeader(little)];
      for (let i = 0; i < ifaces; i++) {
        blocks.push(interfaceDescription(little, {
          linkType: 1,
          snaplen,
          tsresol: pick([undefined, 3, 6, 9, 0x80 | 10, 0x80 | 30]),
          tsoffset: pick([undefined, 0n, 86_400n]),
        }));
      }
      for (let i = 0; i < count; i++) {
        const data = bytesOf(Math.floor(random() * Math.min(limit, 300)), i + file * 100);
        const kind = random();
        const timestamp = BigInt(Math.floor(random() * 2 ** 21)) << 32n |
          BigInt(Math.floor(random() * 2 ** 32));
        const interfaceId = Math.floor(random() * ifaces);
        if (kind < 0.8) blocks.push(enhancedPacket(little, { interfaceId, timestamp, data }));
        else if (kind < 0.9) blocks.push(simplePacket(little, data));
        else blocks.push(obsoletePacket(little, { interfaceId, timestamp, data }));
      }
      bytes = encodePcapng(blocks);
    }
    assertSameAsLibpcap(dir.path, bytes, `random file ${file} (seed ${seed})`);
  }
});
