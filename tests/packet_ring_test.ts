/**
 * PacketRing against libpcap's own reader: two handles on the same interface at once, one read
 * in place from its ring, one through `pcap_next_ex`, must yield the same frames — on lo (each
 * packet once, though lo sees it leave and arrive) and on a veth pair fed raw frames, some
 * carrying VLAN tags that the kernel takes off on the way in and both readers must put back.
 */
import assert from "node:assert/strict";
import { PacketRing, Pcap, RingLayoutError } from "../ffi/mod.ts";
import { runPad, tempDir } from "../fixtures/pad_cli.ts";

const canCapture = Deno.uid() === 0 && Deno.build.os === "linux";

interface Seen {
  hex: string;
  wireLength: number;
  tsMs: number;
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Opens `device` for capture the way the capture loop does (nonblocking, 50 ms blocks). */
function open(device: string, snaplen: number, filter?: string): Pcap {
  const pcap = Pcap.openLive({ device, snaplen, timeoutMs: 50, bufferSizeBytes: 2 << 20 });
  if (filter !== undefined) pcap.setFilter(filter);
  return pcap;
}

/** Reads until `count` frames that `keep` selects have come, or 3 s pass. */
async function readAll(
  pcap: Pcap,
  ring: PacketRing | null,
  count: number,
  keep: (frame: Uint8Array) => boolean,
): Promise<Seen[]> {
  const seen: Seen[] = [];
  const take = (bytes: Uint8Array, start: number, end: number, tsMs: number, length: number) => {
    const frame = bytes.slice(start, end);
    if (keep(frame)) seen.push({ hex: hex(frame), wireLength: length, tsMs });
  };
  const deadline = Date.now() + 3000;
  while (seen.length < count && Date.now() < deadline) {
    if (ring !== null) ring.read(1000, take);
    else {
      for (let p = pcap.next(); p !== null && p !== "eof"; p = pcap.next()) {
        take(p.data, 0, p.caplen, p.tsSec * 1000 + p.tsUsec / 1000, p.len);
      }
    }
    await pcap.waitReadable(20);
  }
  return seen;
}

Deno.test({
  name:
    "PacketRing on lo reads each UDP datagram once, as libpcap's reader does, cut to the snapshot length",
  ignore: !canCapture,
  async fn() {
    const sinks = [
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }),
      Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 }),
    ];
    const ports = sinks.map((s) => (s.addr as Deno.NetAddr).port);
    const filter = ports.map((p) => `udp dst port ${p}`).join(" or ");
    using inPlace = open("lo", 96, filter);
    using plain = open("lo", 96, filter);
    const ring = PacketRing.of(inPlace);
    assert.ok(ring !== null, "lo's ring can be read in place");
    try {
      const before = Date.now();
      const sizes = [0, 10, 200, 1400, 9000, 60_000];
      for (const [i, sink] of sinks.entries()) {
        for (const size of sizes) {
          await sink.send(new Uint8Array(size).fill(size & 0xff), {
            transport: "udp",
            hostname: i === 0 ? "127.0.0.1" : "::1",
            port: ports[i]!,
          });
        }
      }
      const count = 2 * sizes.length;
      const all = () => true;
      const [fromRing, fromLibpcap] = await Promise.all([
        readAll(inPlace, ring, count, all),
        readAll(plain, null, count, all),
      ]);
      const after = Date.now();
      assert.equal(fromRing.length, count);
      assert.deepEqual(
        fromRing.map(({ hex, wireLength }) => ({ hex, wireLength })),
        fromLibpcap.map(({ hex, wireLength }) => ({ hex, wireLength })),
      );
      // Ethernet 14 + IPv4 20 / IPv6 40 + UDP 8 on the wire, at most 96 bytes kept.
      assert.deepEqual(fromRing.map((s) => s.wireLength), [
        ...sizes.map((size) => size + 42),
        ...sizes.map((size) => size + 62),
      ]);
      assert.ok(fromRing.every((s) => s.hex.length <= 2 * 96));
      assert.equal(fromRing.at(-1)!.hex.length, 2 * 96);
      assert.ok(fromRing.every((s) => s.tsMs >= before - 1 && s.tsMs <= after + 1));
    } finally {
      ring.close();
      for (const sink of sinks) sink.close();
    }
  },
});

Deno.test({
  name:
    "PacketRing puts back the VLAN tags the kernel takes off on the way in, as libpcap's reader does",
  ignore: !canCapture,
  async fn() {
    // A veth pair: frames written to one end arrive at the other, where the kernel moves an
    // 802.1Q or 802.1ad tag out of the frame into its metadata before capture sees it.
    const [a, b] = [`padr${Deno.pid % 10000}a`, `padr${Deno.pid % 10000}b`];
    await ip("link", "add", a, "type", "veth", "peer", "name", b);
    try {
      await ip("link", "set", a, "up");
      await ip("link", "set", b, "up");
      const destination = [0x02, 0x00, 0x5e, 0x00, 0x00, 0x99];
      const frame = (tags: number[][], length: number) =>
        new Uint8Array([
          ...destination,
          0x02,
          0x00,
          0x5e,
          0x00,
          0x00,
          0x01,
          ...tags.flat(),
          0x08,
          0x00, // IPv4 (the bytes after need not be a packet: nothing decodes them here)
          ...new Uint8Array(length).fill(0x45),
        ]);
      const sent = [
        frame([], 50),
        frame([[0x81, 0x00, 0x60, 0x0a]], 50), // VLAN 10, priority 3
        frame([[0x88, 0xa8, 0x00, 0x14]], 50), // 802.1ad, VLAN 20
        frame([[0x81, 0x00, 0x00, 0x1e]], 1400), // VLAN 30, longer than the snapshot
        frame([], 1400), // untagged, longer than the snapshot (no filter cuts it in the kernel)
      ];
      const SNAPLEN = 128;
      using inPlace = open(b, SNAPLEN);
      using plain = open(b, SNAPLEN);
      const ring = PacketRing.of(inPlace);
      assert.ok(ring !== null, "a veth's ring can be read in place");
      try {
        await inject(a, sent);
        const ours = (f: Uint8Array) => destination.every((byte, i) => f[i] === byte);
        const [fromRing, fromLibpcap] = await Promise.all([
          readAll(inPlace, ring, sent.length, ours),
          readAll(plain, null, sent.length, ours),
        ]);
        const expected = sent.map((f) => ({
          hex: hex(f.subarray(0, SNAPLEN)),
          wireLength: f.length,
        }));
        assert.deepEqual(fromRing.map(({ hex, wireLength }) => ({ hex, wireLength })), expected);
        assert.deepEqual(fromLibpcap.map(({ hex, wireLength }) => ({ hex, wireLength })), expected);
      } finally {
        ring.close();
      }
    } finally {
      await ip("link", "del", a);
    }
  },
});

Deno.test({
  name: "PacketRing.of() leaves reading to libpcap where libpcap filters in userland",
  ignore: !canCapture,
  fn() {
    // Too long a program for the kernel (over 4,096 instructions): libpcap then filters each
    // packet itself, which only its reader does.
    const terms = Array.from(
      { length: 800 },
      (_, i) => `(udp port ${1000 + i} and src host 10.0.${i % 250}.1)`,
    );
    using refused = open("lo", 256, terms.join(" or "));
    assert.equal(PacketRing.of(refused), null);
    using accepted = open("lo", 256, terms.slice(0, 20).join(" or "));
    const ring = PacketRing.of(accepted);
    assert.ok(ring !== null);
    ring.close();
  },
});

Deno.test({
  name: "pad doctor says whether capture reads the kernel's ring in place",
  ignore: !canCapture,
  async fn() {
    using dir = tempDir();
    const { stdout } = await runPad(["--db", `${dir.path}/pad.db`, "doctor", "--interface", "lo"]);
    assert.match(
      stdout,
      /^ok +capture +can capture on lo, reading the kernel's capture ring in place$/m,
    );
  },
});

/** Two 256-KiB blocks laid out as the kernel lays out TPACKET_V3, filled by hand. */
function handBuiltRing() {
  const BLOCK = 262_144;
  const memory = new ArrayBuffer(2 * BLOCK);
  const view = new DataView(memory);
  const nowSec = Math.ceil(Date.now() / 1000) + 1; // after the ring is made: not skipped
  /** Writes a block of `frames`; each has its sockaddr_ll packet type and VLAN fields. */
  const block = (
    index: number,
    sequence: number,
    frames: { bytes: number[]; pkttype?: number; hatype?: number; tci?: number }[],
  ) => {
    const base = index * BLOCK;
    view.setUint32(base + 8, 1, true); // TP_STATUS_USER: handed over
    view.setUint32(base + 12, frames.length, true);
    view.setUint32(base + 16, 48, true); // the first packet, after the block's header
    view.setUint32(base + 24, sequence, true);
    let at = base + 48;
    for (const frame of frames) {
      const mac = 96;
      const next = (mac + frame.bytes.length + 15) & ~15;
      view.setUint32(at, next, true);
      view.setUint32(at + 4, nowSec, true);
      view.setUint32(at + 8, 500_000_000, true);
      view.setUint32(at + 12, frame.bytes.length, true);
      view.setUint32(at + 16, frame.bytes.length, true);
      view.setUint32(at + 20, frame.tci === undefined ? 0 : 0x10, true); // TP_STATUS_VLAN_VALID
      view.setUint16(at + 24, mac, true);
      view.setUint32(at + 32, frame.tci ?? 0, true);
      view.setUint16(at + 48 + 8, frame.hatype ?? 1, true);
      view.setUint8(at + 48 + 10, frame.pkttype ?? 0);
      new Uint8Array(memory, at + mac).set(frame.bytes);
      at += next;
    }
  };
  return { memory, view, block, BLOCK, nowSec };
}

Deno.test("PacketRing reads hand-built blocks: skips lo's outgoing copies, re-tags VLAN frames, and stops at blocks not numbered in order", () => {
  const { memory, view, block, BLOCK, nowSec } = handBuiltRing();
  const frame = (last: number) => [...Array(12).fill(0xaa), 0x08, 0x00, 0x45, last];
  block(0, 1, [
    { bytes: frame(1) },
    { bytes: frame(2), pkttype: 4, hatype: 772 }, // lo's outgoing copy
    { bytes: frame(3), tci: 0x600a },
  ]);
  block(1, 7, [{ bytes: frame(4) }]); // not block 2: 256-KiB blocks are not what the kernel made
  const ring = new PacketRing(memory, 65_535);
  const seen: { hex: string; ts: number; length: number }[] = [];
  const visit = (b: Uint8Array, start: number, end: number, ts: number, length: number) =>
    seen.push({ hex: hex(b.subarray(start, end)), ts, length });
  assert.throws(() => ring.read(100, visit), RingLayoutError);
  assert.deepEqual(seen, [
    { hex: hex(new Uint8Array(frame(1))), ts: nowSec * 1000 + 500, length: 16 },
    {
      hex: hex(
        new Uint8Array([...frame(3).slice(0, 12), 0x81, 0x00, 0x60, 0x0a, 0x08, 0x00, 0x45, 3]),
      ),
      ts: nowSec * 1000 + 500,
      length: 20,
    },
  ]);
  assert.equal(view.getUint32(8, true), 0, "the block read went back to the kernel");
  assert.equal(view.getUint32(BLOCK + 8, true), 1, "the block not read stays handed over");
  // The same block numbered as it should be is read; one whose offsets run past it is refused.
  view.setUint32(BLOCK + 24, 2, true);
  assert.equal(ring.read(100, visit), 1);
  block(0, 3, [{ bytes: frame(5) }]);
  view.setUint32(48 + 12, BLOCK, true); // a snapshot longer than the block
  assert.throws(() => ring.read(100, visit), /Corrupted frame on the kernel's capture ring/);
});

async function ip(...args: string[]): Promise<void> {
  const result = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!result.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(result.stderr).trim()}`);
  }
}

/** Writes raw frames to `device` through a packet socket (python3's, in a child). */
async function inject(device: string, frames: Uint8Array[]): Promise<void> {
  const script = `import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for frame in sys.argv[2:]:
    s.send(bytes.fromhex(frame))`;
  const result = await new Deno.Command("python3", {
    args: ["-c", script, device, ...frames.map(hex)],
    stderr: "piped",
  }).output();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
}
