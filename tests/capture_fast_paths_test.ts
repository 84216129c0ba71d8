/**
 * The shortcuts import's hot path takes give what the plain code gives: remembered address
 * texts, decoding a frame where it lies in a buffer, reading dotted quads without parsing, and
 * the per-port counts with numeric keys and remembered peers.
 */
import assert from "node:assert/strict";
import { formatIpv4, formatIpv6, ipv4Text, ipv6Text } from "../src/net/address.ts";
import { type DecodedPacket, decodeFrame, decodeFrameAt } from "../src/capture/decode.ts";
import {
  LocalNetworks,
  parseAddress,
  parseNetwork,
  PRIVATE_NETWORKS,
} from "../src/net/networks.ts";
import { RoundTraffic } from "../src/capture/round_traffic.ts";
import { mulberry32 } from "../src/random.ts";
import {
  dnsCnameResponse,
  dnsQuery,
  ethernet,
  icmp,
  ipv4,
  ipv6,
  loopback,
  quicInitial,
  sll2,
  tcp,
  tcpDns,
  udp,
} from "../fixtures/frames.ts";
import { mixedFrames } from "../fixtures/mixed_capture.ts";

Deno.test("ipv4Text() and ipv6Text() give formatIpv4() and formatIpv6() text, whatever collides in their caches", () => {
  const random = mulberry32(0xadd7);
  const bytes = new Uint8Array(32);
  // Few enough to repeat (cache hits), many enough to evict one another (misses, collisions).
  const pool = Array.from({ length: 100_000 }, () => {
    const address = new Uint8Array(16);
    for (let i = 0; i < 16; i++) address[i] = random() < 0.3 ? 0 : Math.floor(random() * 256);
    if (random() < 0.1) address.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    return address;
  });
  for (let i = 0; i < 300_000; i++) {
    const address = pool[Math.floor(random() ** 2 * pool.length)]!;
    const offset = Math.floor(random() * 16);
    bytes.set(address, offset);
    assert.equal(ipv4Text(bytes, offset), formatIpv4(bytes, offset));
    assert.equal(ipv6Text(bytes, offset), formatIpv6(bytes, offset));
  }
});

/** Whether `address` is in one of `cidrs` (plus loopback), the long way. */
function referenceHas(cidrs: readonly string[], address: string): boolean {
  const bytes = parseAddress(address);
  if (bytes === null) return false;
  for (const cidr of ["127.0.0.0/8", "::1/128", ...cidrs]) {
    const network = parseNetwork(cidr);
    let candidate = bytes;
    const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) &&
      bytes[10] === 0xff && bytes[11] === 0xff;
    if (network.bytes.length === 4 && mapped) candidate = bytes.subarray(12);
    if (candidate.length !== network.bytes.length) continue;
    let inside = true;
    for (let bit = 0; bit < network.prefix; bit++) {
      const mask = 0x80 >> (bit % 8);
      if ((candidate[bit >> 3]! & mask) !== (network.bytes[bit >> 3]! & mask)) inside = false;
    }
    if (inside) return true;
  }
  return false;
}

Deno.test("LocalNetworks.has() reads dotted quads without parsing and agrees with parseAddress() on odd text", () => {
  const cidrs = [...PRIVATE_NETWORKS, "0.0.0.0/1", "203.0.113.128/25", "2001:db8::/33", "9.9.9.9"];
  const local = new LocalNetworks(cidrs);
  const odd = [
    "01.2.3.4",
    "10.0.0.01",
    "010.000.000.001",
    "0000.1.1.1",
    "1.2.3.1000",
    "255.255.255.255",
    "256.0.0.1",
    "1.2.3",
    "1.2.3.4.",
    ".1.2.3",
    "1..2.3",
    " 10.1.2.3",
    "10.1.2.3 ",
    "10.1.2.-3",
    "10.1.2.3e0",
    "１0.1.2.3",
    "10.0.0.1%eth0",
    "",
    "0.0.0.0",
    "127.255.255.255",
    "128.0.0.0",
    "9.9.9.9",
    "9.9.9.8",
    "203.0.113.128",
    "203.0.113.127",
    "::ffff:10.1.2.3",
    "::ffff:8.8.8.8",
    "2001:db8:7fff::1",
    "2001:db8:8000::1",
    "fe80::1",
    "::1",
    "not an address",
  ];
  const random = mulberry32(0x10ca1);
  const quads = Array.from(
    { length: 5_000 },
    () => Array.from({ length: 4 }, () => Math.floor(random() * 256)).join("."),
  );
  const all = [...odd, ...quads];
  // Twice, in a shuffled order, so answers also come from the memory of recent addresses.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < all.length * 2; i++) {
      const address = all[Math.floor(random() * all.length)]!;
      assert.equal(local.has(address), referenceHas(cidrs, address), address);
    }
  }
});

function frameTemplates(): [number, Uint8Array][] {
  const dns = dnsCnameResponse("www.example.com", "edge.example.net", "192.0.2.7");
  const v4 = (protocol: number, payload: Uint8Array) =>
    ipv4({ src: "10.0.0.1", dst: "192.0.2.2", protocol, payload });
  const v6 = (nextHeader: number, payload: Uint8Array) =>
    ipv6({ src: "fd00::1", dst: "2001:db8::2", nextHeader, payload });
  return [
    [1, ethernet({ ethertype: 0x0800, payload: v4(17, udp(40_000, 53, dnsQuery("a.example"))) })],
    [1, ethernet({ ethertype: 0x0800, payload: v4(17, udp(53, 40_000, dns)) })],
    [
      1,
      ethernet({
        ethertype: 0x0800,
        vlans: [{ vid: 3 }],
        payload: v4(6, tcp({ srcPort: 53, dstPort: 9, flags: 0x18, payload: tcpDns(dns) })),
      }),
    ],
    [1, ethernet({ ethertype: 0x86dd, payload: v6(17, udp(5_000, 443, quicInitial(100))) })],
    [276, sll2({ protocol: 0x86dd, payload: v6(58, icmp(128, 0, new Uint8Array(8))) })],
    [0, loopback({ family: 2, littleEndian: true, payload: v4(1, icmp(8, 0)) })],
    [101, v4(47, new Uint8Array(12))],
    [1, ethernet({ ethertype: 0x0806, payload: new Uint8Array(28) })],
  ];
}

Deno.test("decodeFrameAt() decodes a frame where it lies exactly as decodeFrame() decodes it alone, every truncation included, with or without its payload", () => {
  const random = mulberry32(0xdec0);
  for (const [linkType, frame] of frameTemplates()) {
    for (let length = 0; length <= frame.length; length++) {
      const alone = frame.slice(0, length);
      // Random bytes around the frame: reading past either end would change the result.
      const start = Math.floor(random() * 40);
      const buffer = Uint8Array.from({ length: start + length + 64 }, () => random() * 256);
      buffer.set(alone, start);
      const expected = decodeFrame(linkType, alone, 1.5, 999);
      assert.deepEqual(
        decodeFrameAt(linkType, buffer, start, start + length, 1.5, 999),
        expected,
        `link type ${linkType}, ${length} bytes`,
      );
      // Without its payload, the same packet but for an empty payload.
      if (expected.kind === "ip") expected.packet.payload = new Uint8Array(0);
      assert.deepEqual(
        decodeFrameAt(linkType, buffer, start, start + length, 1.5, 999, false),
        expected,
        `link type ${linkType}, ${length} bytes, no payload`,
      );
    }
  }
});

/** RoundTraffic's counts, the plain way: string keys, full sets, every address parsed. */
function referenceCounts(packets: DecodedPacket[], cidrs: readonly string[]) {
  const tallies = new Map<
    string,
    { packets: number; bytes: number; peers: Set<string>; ports: Set<number> }
  >();
  const count = (
    packet: DecodedPacket,
    port: number | null,
    direction: string,
    remote: string,
    remotePort: number | null,
  ) => {
    const key = `${port}/${packet.transport}/${direction}`;
    let tally = tallies.get(key);
    if (!tally) {
      tallies.set(key, tally = { packets: 0, bytes: 0, peers: new Set(), ports: new Set() });
    }
    tally.packets++;
    tally.bytes += packet.length;
    tally.peers.add(remote);
    if (remotePort !== null) tally.ports.add(remotePort);
  };
  for (const packet of packets) {
    const srcLocal = referenceHas(cidrs, packet.src);
    const dstLocal = referenceHas(cidrs, packet.dst);
    if (srcLocal) count(packet, packet.srcPort, "out", packet.dst, packet.dstPort);
    if (dstLocal || !srcLocal) count(packet, packet.dstPort, "in", packet.src, packet.srcPort);
  }
  return [...tallies].map(([key, t]) =>
    `${key} ${t.packets} ${t.bytes} ${t.peers.size} ${t.ports.size}`
  );
}

Deno.test("RoundTraffic counts packets, bytes, peers and remote ports as the plain reference does", () => {
  const packets: DecodedPacket[] = [];
  for (const { data, tsMs } of mixedFrames(40_000, { remotes: 3_000 })) {
    const result = decodeFrame(1, data, tsMs, data.length);
    if (result.kind === "ip") packets.push(result.packet);
  }
  for (const cidrs of [PRIVATE_NETWORKS, ["93.184.0.0/18", "2001:db8:1::/120"]]) {
    const traffic = new RoundTraffic({
      local: new LocalNetworks(cidrs),
      maxPackets: 0,
      payloadBytes: 0,
    });
    for (const packet of packets) traffic.add(packet);
    const actual = traffic.counts().map((t) =>
      `${t.port}/${t.protocol}/${t.direction} ${t.packets} ${t.bytes} ${t.peers} ${t.remotePorts}`
    );
    assert.deepEqual(actual, referenceCounts(packets, cidrs));
  }
});
