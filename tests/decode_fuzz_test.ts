import assert from "node:assert/strict";
import { mulberry32 } from "../src/random.ts";
import { decodeFrame, type DecodeResult } from "../src/capture/decode.ts";
import {
  concat,
  dnsCnameResponse,
  dnsQuery,
  ethernet,
  fragmentBody,
  icmp,
  ipv4,
  ipv6,
  loopback,
  quicInitial,
  quicShort,
  sll,
  sll2,
  tcp,
  tcpDns,
  udp,
} from "../fixtures/frames.ts";

/** A failure replays with the same seed. */
const prng = mulberry32;

const SEED = 0x9ad5eed;
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147, 105];

function udp4(src: number, dst: number, payload: Uint8Array): Uint8Array {
  return ipv4({ src: "10.1.2.3", dst: "10.3.2.1", protocol: 17, payload: udp(src, dst, payload) });
}

function udp6(src: number, dst: number, payload: Uint8Array): Uint8Array {
  return ipv6({
    src: "2001:db8::1",
    dst: "2001:db8::2",
    nextHeader: 17,
    payload: udp(src, dst, payload),
  });
}

/** Valid frames of every kind the decoder reads, with their link types. */
function templates(): [number, Uint8Array][] {
  const dns = dnsCnameResponse("www.example.com", "edge.example.net", "192.0.2.7");
  const tcp4 = ipv4({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    protocol: 6,
    payload: tcp({
      srcPort: 53,
      dstPort: 9999,
      flags: 0x18,
      payload: tcpDns(dns),
      options: new Uint8Array(12),
    }),
  });
  const ext6 = ipv6({
    src: "fe80::1",
    dst: "fe80::2",
    nextHeader: 6,
    extensions: [{ type: 0 }, { type: 43 }, { type: 51 }, { type: 60 }, {
      type: 44,
      body: fragmentBody(0, true),
    }],
    payload: tcp({ srcPort: 1, dstPort: 2, flags: 0x10 }),
  });
  const icmp6 = ipv6({
    src: "::1",
    dst: "::1",
    nextHeader: 58,
    payload: icmp(128, 0, new Uint8Array(20)),
  });
  return [
    [1, ethernet({ ethertype: 0x0800, payload: udp4(40000, 53, dnsQuery("fuzz.example.org")) })],
    [1, ethernet({ ethertype: 0x0800, payload: udp4(53, 40000, dns) })],
    [
      1,
      ethernet({
        ethertype: 0x86dd,
        vlans: [{ tpid: 0x88a8, vid: 1 }, { vid: 2 }],
        payload: udp6(5353, 5353, dns),
      }),
    ],
    [1, ethernet({ ethertype: 0x0800, payload: tcp4 })],
    [1, ethernet({ ethertype: 0x0806, payload: new Uint8Array(28) })],
    [113, sll({ protocol: 0x86dd, payload: ext6 })],
    [113, sll({ protocol: 0x0800, payload: udp4(50000, 443, quicShort(80)) })],
    [276, sll2({ protocol: 0x86dd, payload: udp6(50000, 4433, quicInitial(200)) })],
    [276, sll2({ protocol: 0x86dd, payload: icmp6 })],
    [0, loopback({ family: 2, littleEndian: true, payload: udp4(1, 2, new Uint8Array(10)) })],
    [0, loopback({ family: 30, littleEndian: false, payload: icmp6 })],
    [108, loopback({ family: 24, littleEndian: false, payload: ext6 })],
    [101, tcp4],
    [
      228,
      ipv4({
        src: "10.0.0.1",
        dst: "10.0.0.2",
        protocol: 1,
        payload: icmp(3, 3, new Uint8Array(28)),
      }),
    ],
    [
      229,
      ipv6({
        src: "::1",
        dst: "::2",
        nextHeader: 17,
        extensions: [{ type: 44, body: fragmentBody(8, false) }],
        payload: new Uint8Array(16),
      }),
    ],
    [12, ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 47, payload: new Uint8Array(24) })],
  ];
}

/** Checks one result's invariants; returns it for counting. */
function check(linkType: number, frame: Uint8Array, label: string): DecodeResult {
  let result: DecodeResult;
  try {
    result = decodeFrame(linkType, frame, 0, frame.length);
  } catch (error) {
    assert.fail(`${label}: decodeFrame threw ${error}`);
  }
  switch (result.kind) {
    case "ip": {
      const p = result.packet;
      assert.ok(p.payload.buffer === frame.buffer, `${label}: payload is a view into the frame`);
      assert.ok(p.payload.byteOffset >= frame.byteOffset, label);
      assert.ok(p.payload.byteOffset + p.payload.length <= frame.byteOffset + frame.length, label);
      for (const port of [p.srcPort, p.dstPort]) {
        assert.ok(port === null || (port >= 0 && port <= 65535), label);
      }
      assert.ok(p.protocols.length > 0, label);
      break;
    }
    case "non-ip":
      assert.ok(result.protocols.length > 0, label);
      break;
    case "malformed":
      // The decoder's catch-all must never be what handled a frame.
      assert.doesNotMatch(result.reason, /^decoder error/, `${label}: ${result.reason}`);
      break;
    default:
      assert.fail(`${label}: unknown result kind`);
  }
  return result;
}

Deno.test("decodeFrame() handles every truncation of valid frames without throwing", () => {
  let frames = 0;
  let malformed = 0;
  for (const [i, [linkType, frame]] of templates().entries()) {
    assert.equal(
      check(linkType, frame, `template ${i}`).kind === "malformed",
      false,
      `template ${i} is valid`,
    );
    for (let length = 0; length < frame.length; length++) {
      // A fresh copy so reads past the end would land outside the buffer rather than on old bytes.
      if (
        check(linkType, frame.slice(0, length), `template ${i} cut at ${length}`).kind ===
          "malformed"
      ) malformed++;
      frames++;
    }
  }
  assert.ok(frames > 1_500, `${frames} truncations`);
  assert.ok(malformed > 0);
});

Deno.test("decodeFrame() survives random bytes under random link types (seeded)", () => {
  const random = prng(SEED);
  const kinds = { ip: 0, "non-ip": 0, malformed: 0 };
  for (let i = 0; i < 40_000; i++) {
    const frame = new Uint8Array(Math.floor(random() * 160));
    for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256);
    const linkType = LINK_TYPES[Math.floor(random() * LINK_TYPES.length)]!;
    // Half the time give the frame a plausible IP version nibble so deeper layers get exercised.
    if (frame.length > 0 && random() < 0.5) {
      frame[0] = (random() < 0.5 ? 0x45 : 0x60) | (frame[0]! & 0x0f);
    }
    kinds[check(linkType, frame, `random #${i} (seed ${SEED})`).kind]++;
  }
  assert.ok(kinds.ip > 0 && kinds["non-ip"] > 0 && kinds.malformed > 0, JSON.stringify(kinds));
});

Deno.test("decodeFrame() survives valid frames with random bytes changed (seeded)", () => {
  const random = prng(SEED + 1);
  const all = templates();
  for (let i = 0; i < 40_000; i++) {
    const [linkType, template] = all[Math.floor(random() * all.length)]!;
    const frame = template.slice(0, template.length - Math.floor(random() * 8));
    const changes = 1 + Math.floor(random() * 6);
    for (let c = 0; c < changes; c++) {
      frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
    }
    check(linkType, frame, `mutated #${i} (seed ${SEED + 1})`);
  }
});

Deno.test("decodeFrame() survives random DNS and QUIC payloads, pointer soup included (seeded)", () => {
  const random = prng(SEED + 2);
  const started = performance.now();
  for (let i = 0; i < 20_000; i++) {
    const payload = new Uint8Array(12 + Math.floor(random() * 300));
    for (let j = 0; j < payload.length; j++) {
      // Mostly compression pointers and small labels: the DNS name reader's worst case.
      const r = random();
      payload[j] = r < 0.4
        ? 0xc0 | Math.floor(random() * 2)
        : r < 0.7
        ? Math.floor(random() * 64)
        : Math.floor(random() * 256);
    }
    payload[4] = 0; // a few questions and answers, so the walk goes through every section
    payload[5] = Math.floor(random() * 4);
    payload[6] = 0;
    payload[7] = Math.floor(random() * 4);
    const port = [53, 5353, 443][i % 3]!;
    const frame = ethernet({ ethertype: 0x0800, payload: concat(udp4(40000, port, payload)) });
    check(1, frame, `dns/quic #${i} (seed ${SEED + 2})`);
    const overTcp = ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      protocol: 6,
      payload: tcp({ srcPort: 53, dstPort: 9, flags: 0x18, payload }),
    });
    check(228, overTcp, `tcp dns #${i}`);
  }
  assert.ok(performance.now() - started < 20_000, "hostile DNS must not slow decoding to a crawl");
});
