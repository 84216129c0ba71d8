import assert from "node:assert/strict";
import { formatIpv6 } from "../src/net/address.ts";
import { type DecodedPacket, decodeFrame, type DecodeResult } from "../src/capture/decode.ts";
import { openCaptureFile } from "../src/capture/offline.ts";
import {
  concat,
  dnsAResponse,
  dnsCnameResponse,
  dnsHeader,
  dnsQuery,
  ethernet,
  fragmentBody,
  icmp,
  ipv4,
  ipv6,
  ipv6Bytes,
  loopback,
  quicInitial,
  quicShort,
  sll,
  sll2,
  tcp,
  tcpDns,
  udp,
} from "../fixtures/frames.ts";
import { type PcapRecord, writePcap } from "../fixtures/pcap_writer.ts";

const TS_MS = 1_700_000_000_123.456;

/** Writes the frames to a pcap file in a temp dir and decodes them back through libpcap. */
function roundTrip(linkType: number, records: PcapRecord[]): DecodeResult[] {
  const dir = Deno.makeTempDirSync({ prefix: "pad_decode_" });
  try {
    const path = `${dir}/frames.pcap`;
    writePcap(path, linkType, records);
    using file = openCaptureFile(path);
    assert.equal(file.linkType, linkType === 101 ? 12 : linkType); // libpcap maps LINKTYPE_RAW
    return [...file];
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function ip(result: DecodeResult | undefined): DecodedPacket {
  assert.ok(result, "expected a result");
  assert.equal(result.kind, "ip", `expected an IP packet, got ${JSON.stringify(result)}`);
  return (result as { kind: "ip"; packet: DecodedPacket }).packet;
}

function udp4(
  srcPort: number,
  dstPort: number,
  payload: Uint8Array = new Uint8Array(4),
): Uint8Array {
  return ipv4({
    src: "192.0.2.1",
    dst: "198.51.100.7",
    protocol: 17,
    payload: udp(srcPort, dstPort, payload),
  });
}

function udp6(
  srcPort: number,
  dstPort: number,
  payload: Uint8Array = new Uint8Array(4),
): Uint8Array {
  return ipv6({
    src: "2001:db8::1",
    dst: "2001:db8:0:1::53",
    nextHeader: 17,
    payload: udp(srcPort, dstPort, payload),
  });
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

Deno.test("decodeFrame() reads a DNS query over Ethernet written to and read from a pcap file", () => {
  const [result] = roundTrip(1, [{
    data: ethernet({ ethertype: ETH_IPV4, payload: udp4(40000, 53, dnsQuery("www.example.com")) }),
    tsMs: TS_MS,
  }]);
  const packet = ip(result);
  assert.equal(packet.family, 4);
  assert.equal(packet.src, "192.0.2.1");
  assert.equal(packet.dst, "198.51.100.7");
  assert.equal(packet.transport, "udp");
  assert.equal(packet.ipProtocol, 17);
  assert.equal(packet.srcPort, 40000);
  assert.equal(packet.dstPort, 53);
  assert.equal(packet.tcpFlags, null);
  assert.equal(packet.protocols, "eth:ipv4:udp:dns");
  assert.equal(packet.dnsQueryName, "www.example.com");
  assert.equal(packet.dnsResponseName, null);
  assert.equal(packet.quic, false);
  assert.equal(packet.payload.length, dnsQuery("www.example.com").length);
  assert.equal(packet.tsMs, 1_700_000_000_123.456);
  assert.equal(packet.length, 14 + 20 + 8 + dnsQuery("www.example.com").length);
});

Deno.test("decodeFrame() follows stacked 802.1ad and 802.1Q tags to an IPv6 TCP SYN", () => {
  const payload = ipv6({
    src: "2001:db8::1",
    dst: "2001:db8:0:0:1:0:0:1",
    nextHeader: 6,
    payload: tcp({
      srcPort: 51000,
      dstPort: 22,
      flags: 0x02,
      options: new Uint8Array([2, 4, 5, 0xb4]),
    }),
  });
  const [result] = roundTrip(1, [{
    data: ethernet({
      ethertype: ETH_IPV6,
      vlans: [{ tpid: 0x88a8, vid: 100 }, { vid: 200 }],
      payload,
    }),
  }]);
  const packet = ip(result);
  assert.equal(packet.protocols, "eth:vlan:vlan:ipv6:tcp");
  assert.equal(packet.family, 6);
  assert.equal(packet.src, "2001:db8::1");
  assert.equal(packet.dst, "2001:db8::1:0:0:1");
  assert.equal(packet.transport, "tcp");
  assert.equal(packet.srcPort, 51000);
  assert.equal(packet.dstPort, 22);
  assert.equal(packet.tcpFlags, 0x02);
  assert.equal(packet.payload.length, 0);
});

Deno.test("decodeFrame() reads DNS over TCP on Linux SLL and names the CNAME target as the response", () => {
  const message = dnsCnameResponse("www.example.com", "edge.cdn.example.net", "203.0.113.5");
  const segment = tcp({ srcPort: 53, dstPort: 41000, flags: 0x18, payload: tcpDns(message) });
  const [result] = roundTrip(113, [{
    data: sll({
      protocol: ETH_IPV4,
      payload: ipv4({ src: "10.0.0.53", dst: "10.0.0.2", protocol: 6, payload: segment }),
    }),
  }]);
  const packet = ip(result);
  assert.equal(packet.protocols, "sll:ipv4:tcp:dns");
  assert.equal(packet.tcpFlags, 0x18);
  assert.equal(packet.dnsQueryName, "www.example.com");
  assert.equal(packet.dnsResponseName, "edge.cdn.example.net");
});

Deno.test("decodeFrame() recognises a QUIC Initial over IPv6 on Linux SLL2", () => {
  const [result] = roundTrip(276, [{
    data: sll2({ protocol: ETH_IPV6, payload: udp6(50123, 443, quicInitial()) }),
  }]);
  const packet = ip(result);
  assert.equal(packet.protocols, "sll2:ipv6:udp:quic");
  assert.equal(packet.quic, true);
  assert.equal(packet.dst, "2001:db8:0:1::53");
  assert.equal(packet.dstPort, 443);
});

Deno.test("decodeFrame() reads raw IPv4 and IPv6 under every raw link type number", () => {
  const echo4 = ipv4({ src: "127.0.0.1", dst: "127.0.0.2", protocol: 1, payload: icmp(8, 0) });
  const echo6 = ipv6({ src: "::1", dst: "::1", nextHeader: 58, payload: icmp(128, 0) });
  for (const linkType of [12, 14, 101]) {
    const [a, b] = [
      decodeFrame(linkType, echo4, 0, echo4.length),
      decodeFrame(linkType, echo6, 0, echo6.length),
    ];
    assert.equal(ip(a).protocols, "raw:ipv4:icmp");
    assert.equal(ip(a).icmpType, 8);
    assert.equal(ip(b).protocols, "raw:ipv6:icmpv6");
    assert.equal(ip(b).icmpType, 128);
    assert.equal(ip(b).src, "::1");
  }
  const [v4] = roundTrip(228, [{ data: echo4 }]);
  const [v6] = roundTrip(229, [{ data: echo6 }]);
  assert.equal(ip(v4).transport, "icmp");
  assert.equal(ip(v4).srcPort, null);
  assert.equal(ip(v6).transport, "icmpv6");
  const [raw4, raw6] = roundTrip(101, [{ data: echo4 }, { data: echo6 }]);
  assert.equal(ip(raw4).dst, "127.0.0.2");
  assert.equal(ip(raw6).family, 6);
});

Deno.test("decodeFrame() reads BSD loopback headers in both byte orders and every AF_INET6 value", () => {
  const records: PcapRecord[] = [
    { data: loopback({ family: 2, littleEndian: true, payload: udp4(1000, 2000) }) },
    { data: loopback({ family: 2, littleEndian: false, payload: udp4(1000, 2000) }) },
    ...[24, 28, 30].flatMap((family) => [
      { data: loopback({ family, littleEndian: true, payload: udp6(3000, 4000) }) },
      { data: loopback({ family, littleEndian: false, payload: udp6(3000, 4000) }) },
    ]),
  ];
  const results = roundTrip(0, records);
  assert.deepEqual(results.map((r) => ip(r).protocols), [
    "null:ipv4:udp",
    "null:ipv4:udp",
    ...new Array(6).fill("null:ipv6:udp"),
  ]);
  assert.equal(ip(results[7]).dstPort, 4000);
  const [loop] = roundTrip(108, [{
    data: loopback({ family: 24, littleEndian: false, payload: udp6(5, 6) }),
  }]);
  assert.equal(ip(loop).protocols, "loop:ipv6:udp");
  const other = loopback({ family: 7, littleEndian: true, payload: new Uint8Array(20) });
  assert.deepEqual(decodeFrame(0, other, 0, other.length), {
    kind: "non-ip",
    protocols: "null:af-7",
  });
});

Deno.test("decodeFrame() survives a DNS compression loop read from a pcap file and keeps the packet", () => {
  // Answer owner name: a label, then a pointer to itself; the question is a pointer to a pointer.
  const header = dnsHeader({ response: true, questions: 1, answers: 1 });
  const loopAt = header.length;
  const message = concat(
    header,
    new Uint8Array([3, 0x61, 0x62, 0x63, 0xc0, loopAt]), // "abc" then a pointer back to "abc"
    new Uint8Array([0, 1, 0, 1]),
  );
  const twoStep = concat(
    dnsHeader({ response: false, questions: 1, answers: 0 }),
    new Uint8Array([0xc0, 14, 0xc0, 12]), // 12 → 14 → 12 → …
  );
  const started = performance.now();
  const results = roundTrip(1, [
    { data: ethernet({ ethertype: ETH_IPV4, payload: udp4(53, 40000, message) }) },
    { data: ethernet({ ethertype: ETH_IPV4, payload: udp4(40000, 53, twoStep) }) },
  ]);
  assert.ok(performance.now() - started < 1000);
  for (const result of results) {
    const packet = ip(result);
    assert.match(packet.protocols, /:dns$/);
    assert.equal(packet.dnsQueryName, null);
    assert.equal(packet.dnsResponseName, null);
  }
});

Deno.test("decodeFrame() names mDNS on port 5353 and the A record owner as the response", () => {
  const mdns = decodeFrame(
    1,
    ethernet({ ethertype: ETH_IPV4, payload: udp4(5353, 5353, dnsQuery("printer.local")) }),
    0,
    0,
  );
  assert.equal(ip(mdns).protocols, "eth:ipv4:udp:mdns");
  assert.equal(ip(mdns).dnsQueryName, "printer.local");
  const answer = decodeFrame(
    1,
    ethernet({
      ethertype: ETH_IPV4,
      payload: udp4(53, 40000, dnsAResponse("example.org", "192.0.2.80")),
    }),
    0,
    0,
  );
  assert.equal(ip(answer).dnsQueryName, "example.org");
  assert.equal(ip(answer).dnsResponseName, "example.org");
});

Deno.test("decodeFrame() reports ARP, LLC, netlink and unknown link types as non-IP", () => {
  const arp = ethernet({ ethertype: 0x0806, payload: new Uint8Array(28) });
  const llc = ethernet({ ethertype: 38, payload: new Uint8Array(38) });
  const tagged = ethernet({ ethertype: 0x88cc, vlans: [{ vid: 5 }], payload: new Uint8Array(30) });
  const netlink = sll({ protocol: 0, hatype: 824, payload: new Uint8Array(16) });
  const results = roundTrip(1, [{ data: arp }, { data: llc }, { data: tagged }]);
  assert.deepEqual(results, [
    { kind: "non-ip", protocols: "eth:arp" },
    { kind: "non-ip", protocols: "eth:llc" },
    { kind: "non-ip", protocols: "eth:vlan:lldp" },
  ]);
  assert.deepEqual(decodeFrame(113, netlink, 0, 0), { kind: "non-ip", protocols: "sll:netlink" });
  assert.deepEqual(decodeFrame(147, arp, 0, 0), { kind: "non-ip", protocols: "linktype-147" });
});

Deno.test("decodeFrame() gives ports only to the first IPv4 fragment", () => {
  const first = ipv4({
    src: "192.0.2.1",
    dst: "192.0.2.2",
    protocol: 17,
    payload: udp(1234, 5678, new Uint8Array(16)),
    moreFragments: true,
  });
  const later = ipv4({
    src: "192.0.2.1",
    dst: "192.0.2.2",
    protocol: 17,
    payload: new Uint8Array(16),
    fragmentOffset: 24,
  });
  const [a, b] = roundTrip(228, [{ data: first }, { data: later }]);
  assert.equal(ip(a).protocols, "raw:ipv4:udp");
  assert.equal(ip(a).dstPort, 5678);
  assert.equal(ip(b).protocols, "raw:ipv4:fragment");
  assert.equal(ip(b).transport, "udp");
  assert.equal(ip(b).srcPort, null);
  assert.equal(ip(b).dstPort, null);
  assert.equal(ip(b).payload.length, 16);
});

Deno.test("decodeFrame() walks IPv6 hop-by-hop, routing, destination, AH and fragment headers", () => {
  const walked = ipv6({
    src: "fe80::1",
    dst: "ff02::1:ff00:1",
    nextHeader: 6,
    extensions: [{ type: 0 }, { type: 43 }, { type: 60, body: new Uint8Array(14) }, { type: 51 }, {
      type: 44,
      body: fragmentBody(0, true),
    }],
    payload: tcp({ srcPort: 443, dstPort: 60000, flags: 0x12 }),
  });
  const later = ipv6({
    src: "fe80::1",
    dst: "fe80::2",
    nextHeader: 17,
    extensions: [{ type: 44, body: fragmentBody(1232, false) }],
    payload: new Uint8Array(40),
  });
  const [a, b] = roundTrip(229, [{ data: walked }, { data: later }]);
  assert.equal(ip(a).protocols, "raw:ipv6:tcp");
  assert.equal(ip(a).ipProtocol, 6);
  assert.equal(ip(a).srcPort, 443);
  assert.equal(ip(a).tcpFlags, 0x12);
  assert.equal(ip(a).dst, "ff02::1:ff00:1");
  assert.equal(ip(b).protocols, "raw:ipv6:fragment");
  assert.equal(ip(b).ipProtocol, 17);
  assert.equal(ip(b).dstPort, null);
});

Deno.test("decodeFrame() calls truncated or self-contradicting headers malformed", () => {
  const okIp = ipv4({
    src: "192.0.2.1",
    dst: "192.0.2.2",
    protocol: 6,
    payload: tcp({ srcPort: 1, dstPort: 2, flags: 2 }),
  });
  const cases: [string, number, Uint8Array, RegExp][] = [
    ["TCP cut inside its header", 228, okIp.subarray(0, 30), /truncated TCP header/],
    ["IHL below 5", 228, Uint8Array.of(0x44, ...okIp.subarray(1)), /header length 16 below 20/],
    ["IP version 5", 228, Uint8Array.of(0x55, ...okIp.subarray(1)), /IP version 5/],
    ["Ethernet cut", 1, new Uint8Array(10), /truncated Ethernet header/],
    [
      "VLAN tag cut",
      1,
      ethernet({ ethertype: 0x8100, payload: new Uint8Array(2) }),
      /truncated VLAN tag/,
    ],
    [
      "UDP length 5",
      228,
      ipv4({
        src: "192.0.2.1",
        dst: "192.0.2.2",
        protocol: 17,
        payload: Uint8Array.of(0, 1, 0, 2, 0, 5, 0, 0),
      }),
      /UDP length 5/,
    ],
    [
      "IPv6 cut",
      229,
      ipv6({ src: "::1", dst: "::1", nextHeader: 59, payload: new Uint8Array() }).subarray(0, 39),
      /truncated IPv6 header/,
    ],
    [
      "IPv6 extension cut",
      229,
      ipv6({
        src: "::1",
        dst: "::1",
        nextHeader: 6,
        extensions: [{ type: 0, body: new Uint8Array(14) }],
        payload: new Uint8Array(),
      }).subarray(0, 50),
      /truncated IPv6 extension/,
    ],
    [
      "ICMP cut",
      228,
      ipv4({ src: "192.0.2.1", dst: "192.0.2.2", protocol: 1, payload: Uint8Array.of(8, 0) }),
      /truncated ICMP header/,
    ],
  ];
  for (const [name, linkType, data, reason] of cases) {
    const result = decodeFrame(linkType, data, 0, data.length);
    assert.equal(result.kind, "malformed", name);
    assert.match((result as { reason: string }).reason, reason, name);
  }
});

Deno.test("decodeFrame() keeps a snaplen-cut DNS packet with its wire length and null names", () => {
  const frame = ethernet({
    ethertype: ETH_IPV4,
    payload: udp4(40000, 53, dnsQuery("a-rather-long-name.example.com")),
  });
  const [cut, tiny] = roundTrip(1, [
    { data: frame.subarray(0, 14 + 20 + 8 + 16), wireLength: frame.length },
    { data: frame.subarray(0, 14 + 20 + 8 + 6), wireLength: frame.length },
  ]);
  assert.equal(ip(cut).protocols, "eth:ipv4:udp:dns");
  assert.equal(ip(cut).dnsQueryName, null);
  assert.equal(ip(cut).length, frame.length);
  assert.equal(ip(cut).payload.length, 16);
  // Shorter than a DNS header: no DNS layer at all.
  assert.equal(ip(tiny).protocols, "eth:ipv4:udp");
});

Deno.test("decodeFrame() trims Ethernet padding by the IP total length", () => {
  const frame = concat(
    ethernet({ ethertype: ETH_IPV4, payload: udp4(7, 9, Uint8Array.of(1, 2)) }),
    new Uint8Array(16),
  );
  const packet = ip(decodeFrame(1, frame, 0, frame.length));
  assert.deepEqual([...packet.payload], [1, 2]);
});

Deno.test("decodeFrame() finds QUIC long headers anywhere and short headers only on port 443", () => {
  const verdict = (src: number, dst: number, payload: Uint8Array) =>
    ip(decodeFrame(228, udp4(src, dst, payload), 0, 0)).quic;
  assert.equal(verdict(50000, 443, quicShort()), true);
  assert.equal(verdict(443, 50000, quicShort()), true);
  assert.equal(verdict(50000, 8443, quicShort()), false);
  assert.equal(verdict(50000, 443, quicShort(12)), false);
  assert.equal(verdict(40000, 4433, quicInitial(1200, 0x6b3343cf)), true); // v2
  assert.equal(verdict(40000, 4433, quicInitial(1200, 0xff00001d)), true); // draft-29
  assert.equal(verdict(40000, 4433, quicInitial(1200, 0x12345678)), false);
  assert.equal(verdict(40000, 443, quicInitial(60, 0)), true); // version negotiation
  assert.equal(verdict(40000, 4433, quicInitial(60, 0)), false);
});

Deno.test("formatIpv6() writes RFC 5952 text", () => {
  const text = (address: string) => formatIpv6(ipv6Bytes(address), 0);
  assert.equal(text("2001:0db8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(text("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); // one zero group stays
  assert.equal(text("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1"); // the longest run
  assert.equal(text("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"); // the first of equal runs
  assert.equal(text("0:0:0:0:0:0:0:0"), "::");
  assert.equal(text("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(text("fe80:0:0:0:0:0:0:0"), "fe80::");
  assert.equal(text("0:0:0:0:0:ffff:c000:0201"), "::ffff:192.0.2.1");
  assert.equal(
    text("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789"),
    "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
  );
});

// ---- Real captures made by other projects (see ../../shared/pcaps/MANIFEST.md) ----

const PCAPS = new URL("../../shared/pcaps/", import.meta.url);
const pcapsMissing = (() => {
  try {
    return !Deno.statSync(new URL("MANIFEST.md", PCAPS)).isFile;
  } catch {
    return true;
  }
})();
if (pcapsMissing) console.warn(`Skipping real-capture tests: ${PCAPS.pathname} is absent`);

interface Decoded {
  linkType: number;
  frames: number;
  malformed: number;
  nonIp: number;
  packets: DecodedPacket[];
}

function decodeShared(name: string): Decoded {
  using file = openCaptureFile(new URL(name, PCAPS));
  const packets: DecodedPacket[] = [];
  for (const result of file) if (result.kind === "ip") packets.push(result.packet);
  return { linkType: file.linkType, ...file.counts, packets };
}

const MANIFEST: [string, number, number][] = [
  ["B02_zeek_quic_win11_firefox_google.pcap", 1, 441],
  ["B03_ndpi_android.pcap", 1, 500],
  ["B04_ndpi_KakaoTalk_talk_sll.pcap", 113, 3203],
  ["B05_tcpdump_quic_handshake_null.pcap", 0, 18],
  ["B06_zeek_linux_dlt_sll2.pcap", 276, 6],
  ["A03_ndpi_ppa_synscan_scanme.pcap", 1, 2011],
  ["A07_ndpi_dns_tunnel_iodine.pcap", 1, 438],
];

Deno.test({
  name:
    "openCaptureFile() reads every shared capture with MANIFEST's counts and link types and nothing malformed",
  ignore: pcapsMissing,
  fn() {
    for (const [name, linkType, frames] of MANIFEST) {
      const decoded = decodeShared(name);
      assert.equal(decoded.linkType, linkType, name);
      assert.equal(decoded.frames, frames, name);
      assert.equal(decoded.malformed, 0, name);
    }
  },
});

Deno.test({
  name:
    "decodeFrame() sees QUIC in every packet of the QUIC captures (B02 over Ethernet, B05 over BSD null)",
  ignore: pcapsMissing,
  fn() {
    const b02 = decodeShared("B02_zeek_quic_win11_firefox_google.pcap");
    assert.equal(
      b02.packets.filter((p) => p.quic && p.protocols === "eth:ipv4:udp:quic").length,
      441,
    );
    const b05 = decodeShared("B05_tcpdump_quic_handshake_null.pcap");
    assert.equal(
      b05.packets.filter((p) => p.quic && p.protocols === "null:ipv6:udp:quic").length,
      18,
    );
    assert.ok(
      b05.packets.every((p) => p.src === "::1" && (p.srcPort === 443 || p.dstPort === 443)),
    );
  },
});

Deno.test({
  name: "decodeFrame() reads B03's DNS query and response names, CNAME targets included",
  ignore: pcapsMissing,
  fn() {
    const dns = decodeShared("B03_ndpi_android.pcap").packets.filter((p) =>
      p.protocols.endsWith(":dns")
    );
    assert.equal(dns.length, 42);
    const queries = dns.filter((p) => p.dstPort === 53);
    const responses = dns.filter((p) => p.srcPort === 53);
    assert.equal(queries.length, 21);
    assert.ok(queries.every((p) => p.dnsQueryName !== null && p.dnsResponseName === null));
    assert.ok(responses.every((p) => p.dnsQueryName !== null && p.dnsResponseName !== null));
    const captive = responses.find((p) => p.dnsQueryName === "captive.apple.com");
    assert.equal(captive?.dnsResponseName, "captive-cidr.origin-apple.com.akadns.net");
    assert.ok(
      responses.some((p) =>
        p.dnsQueryName === "www.google.com" && p.dnsResponseName === "www.google.com"
      ),
    );
  },
});

Deno.test({
  name: "decodeFrame() reads all 222 iodine tunnel query names in A07, long binary ones escaped",
  ignore: pcapsMissing,
  fn() {
    const { packets, nonIp } = decodeShared("A07_ndpi_dns_tunnel_iodine.pcap");
    assert.equal(nonIp, 4); // ARP
    const queries = packets.filter((p) => p.dstPort === 53);
    assert.equal(queries.length, 222);
    assert.ok(queries.every((p) => p.dnsQueryName?.endsWith(".pirate.sea")));
    assert.equal(new Set(queries.map((p) => p.dnsQueryName)).size, 222);
    const wireLength = (name: string) => name.replace(/\\\d{3}/g, "x").replace(/\\./g, "x").length;
    assert.equal(queries.filter((p) => wireLength(p.dnsQueryName!) > 200).length, 19);
    const responses = packets.filter((p) => p.srcPort === 53);
    assert.equal(responses.length, 212);
    assert.ok(responses.every((p) => p.dnsResponseName?.endsWith(".pirate.sea")));
  },
});

Deno.test({
  name: "decodeFrame() counts the 1,000 ports of A03's SYN scan",
  ignore: pcapsMissing,
  fn() {
    const { packets } = decodeShared("A03_ndpi_ppa_synscan_scanme.pcap");
    const synPorts = new Set(packets.filter((p) => p.tcpFlags === 0x02).map((p) => p.dstPort));
    assert.equal(synPorts.size, 1000);
    assert.ok(packets.every((p) => p.protocols === "eth:ipv4:tcp"));
  },
});

Deno.test({
  name: "decodeFrame() reads B04 (Linux SLL) and B06 (Linux SLL2) layer by layer",
  ignore: pcapsMissing,
  fn() {
    const b04 = decodeShared("B04_ndpi_KakaoTalk_talk_sll.pcap");
    const count = (packets: DecodedPacket[], protocols: string) =>
      packets.filter((p) => p.protocols === protocols).length;
    assert.equal(count(b04.packets, "sll:ipv4:udp"), 3035);
    assert.equal(count(b04.packets, "sll:ipv4:udp:dns"), 2);
    assert.equal(count(b04.packets, "sll:ipv4:tcp"), 166);
    const b06 = decodeShared("B06_zeek_linux_dlt_sll2.pcap");
    assert.equal(b06.nonIp, 2); // ARP and RARP
    assert.equal(count(b06.packets, "sll2:ipv4:icmp"), 2);
    assert.equal(count(b06.packets, "sll2:ipv6:icmpv6"), 2);
    assert.equal(b06.packets.find((p) => p.family === 6)?.src, "fe80::8c36:6ff:fe44:acaf");
  },
});

// ---- The other link layers and encapsulations (tcpdump's captures check them against tshark) ----

Deno.test("decodeFrame() finds IP under PPP, Cisco HDLC, Frame Relay, NFLOG, IPoIB, ipnet, MPLS, PPPoE, MACsec, NSH and Arista's header", () => {
  const packet = ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, payload: udp(1, 53) });
  const packet6 = ipv6({
    src: "2001:db8::1",
    dst: "2001:db8::2",
    nextHeader: 17,
    payload: udp(1, 2),
  });
  const b = (...bytes: number[]) => new Uint8Array(bytes);
  const le16 = (n: number) => b(n & 0xff, n >> 8);
  const nflogTlv = (type: number, value: Uint8Array) => {
    const padding = new Uint8Array((4 - (value.length % 4)) % 4);
    return concat(le16(4 + value.length), le16(type), value, padding);
  };
  const mpls = (label: number, bottom: boolean) =>
    b(label >> 12, (label >> 4) & 0xff, ((label & 0xf) << 4) | (bottom ? 1 : 0), 64);
  const cases: [number, Uint8Array, string][] = [
    [9, concat(b(0xff, 0x03, 0x00, 0x21), packet), "ppp:ipv4:udp"],
    [9, concat(b(0x21), packet), "ppp:ipv4:udp"], // protocol field compressed, no address
    [9, concat(b(0x00, 0x57), packet6), "ppp:ipv6:udp"],
    [9, concat(b(0x02, 0x81), mpls(100, true), packet), "ppp:mpls:ipv4:udp"],
    [50, concat(b(0xff, 0x03, 0x00, 0x21), packet), "ppp:ipv4:udp"],
    [50, concat(b(0x0f, 0x00, 0x08, 0x00), packet), "chdlc:ipv4:udp"],
    [104, concat(b(0x8f, 0x00, 0x86, 0xdd), packet6), "chdlc:ipv6:udp"],
    [107, concat(b(0x18, 0x41, 0x03, 0xcc), packet), "fr:ipv4:udp"],
    [107, concat(b(0x18, 0x41, 0x03, 0x00, 0x8e), packet6), "fr:ipv6:udp"],
    [107, concat(b(0x18, 0x41, 0x03, 0x80, 0, 0, 0, 0x08, 0x00), packet), "fr:snap:ipv4:udp"],
    [107, concat(b(0x18, 0x41, 0x08, 0x00), packet), "fr:ipv4:udp"], // Cisco's encapsulation
    [
      239,
      concat(b(2, 0, 0, 0), nflogTlv(1, b(8, 0, 1, 0)), nflogTlv(9, packet)),
      "nflog:ipv4:udp",
    ],
    [242, concat(new Uint8Array(40), b(0x08, 0x00, 0, 0), packet), "ipoib:ipv4:udp"],
    [226, concat(b(1, 26), new Uint8Array(22), packet6), "ipnet:ipv6:udp"],
    [
      1,
      ethernet({ ethertype: 0x8847, payload: concat(mpls(16, false), mpls(17, true), packet) }),
      "eth:mpls:ipv4:udp",
    ],
    [
      1,
      ethernet({ ethertype: 0x8864, payload: concat(b(0x11, 0, 0, 1, 0, 0), b(0, 0x21), packet) }),
      "eth:pppoe:ppp:ipv4:udp",
    ],
    [
      1,
      ethernet({
        ethertype: 0x88e5,
        payload: concat(b(0x20, 0), new Uint8Array(12), b(8, 0), packet),
      }),
      "eth:macsec:ipv4:udp",
    ],
    [
      1,
      ethernet({ ethertype: 0x894f, payload: concat(b(0, 2, 1, 1), new Uint8Array(4), packet) }),
      "eth:nsh:ipv4:udp",
    ],
    [
      1,
      ethernet({
        ethertype: 0xd28b,
        payload: concat(b(0, 1, 0, 0x10), new Uint8Array(8), b(8, 0), packet),
      }),
      "eth:arista:ipv4:udp",
    ],
  ];
  for (const [linkType, frame, protocols] of cases) {
    const result = decodeFrame(linkType, frame, TS_MS, frame.length);
    assert.equal(result.kind, "ip", `${protocols}: ${JSON.stringify(result)}`);
    assert.equal(result.kind === "ip" ? result.packet.protocols : "", protocols);
  }
  // Encrypted MACsec, PPP's link control and a label stack that never ends are not IP.
  const encrypted = ethernet({
    ethertype: 0x88e5,
    payload: concat(b(0x2c, 0), new Uint8Array(30)),
  });
  assert.deepEqual(decodeFrame(1, encrypted, TS_MS, 60), {
    kind: "non-ip",
    protocols: "eth:macsec",
  });
  assert.deepEqual(decodeFrame(9, b(0xc0, 0x21, 1, 1), TS_MS, 4), {
    kind: "non-ip",
    protocols: "ppp:proto-0xc021",
  });
  const endless = ethernet({
    ethertype: 0x8847,
    payload: concat(...Array(17).fill(mpls(1, false))),
  });
  assert.equal(decodeFrame(1, endless, TS_MS, endless.length).kind, "malformed");
});
