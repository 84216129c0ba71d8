import assert from "node:assert/strict";
import { varyEphemeralPorts } from "../eval/replay.ts";
import { ipv4, ipv6, tcp, udp } from "../fixtures/frames.ts";
import { encodePcap } from "../fixtures/pcap_writer.ts";

const LINKTYPE_RAW = 101;

/** The TCP/UDP checksum of an IP packet computed from scratch (pseudo-header included). */
function transportChecksum(packet: Uint8Array): number {
  const v6 = packet[0]! >> 4 === 6;
  const l4 = v6 ? 40 : (packet[0]! & 0x0f) * 4;
  const protocol = v6 ? packet[6]! : packet[9]!;
  const segment = packet.slice(l4);
  segment[protocol === 6 ? 16 : 6] = 0;
  segment[protocol === 6 ? 17 : 7] = 0;
  const addresses = v6 ? packet.subarray(8, 40) : packet.subarray(12, 20);
  const pseudo = [...addresses, 0, 0, segment.length >> 8, segment.length & 0xff, 0, protocol];
  const bytes = [...pseudo, ...segment, ...(segment.length % 2 ? [0] : [])];
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The packet with a correct transport checksum. */
function withChecksum(packet: Uint8Array): Uint8Array {
  const v6 = packet[0]! >> 4 === 6;
  const l4 = v6 ? 40 : (packet[0]! & 0x0f) * 4;
  const at = l4 + ((v6 ? packet[6] : packet[9]) === 6 ? 16 : 6);
  const sum = transportChecksum(packet);
  packet[at] = sum >> 8;
  packet[at + 1] = sum & 0xff;
  return packet;
}

/** The records of a classic little-endian pcap file. */
function records(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 24; at < file.length;) {
    const length = view.getUint32(at + 8, true);
    out.push(file.slice(at + 16, at + 16 + length));
    at += 16 + length;
  }
  return out;
}

const port = (packet: Uint8Array, l4: number, which: 0 | 2) =>
  (packet[l4 + which]! << 8) | packet[l4 + which + 1]!;

Deno.test("varyEphemeralPorts() rotates ephemeral ports, keeps service ports and fixes checksums", () => {
  const packets = [
    // A client's TCP connection to a web server: 45000 moves, 443 stays.
    withChecksum(ipv4({
      src: "10.0.0.1",
      dst: "93.184.216.34",
      protocol: 6,
      payload: tcp({ srcPort: 45_000, dstPort: 443, flags: 0x18, payload: new Uint8Array(7) }),
    })),
    // A DNS query on IPv6 loopback, odd length: 50000 moves, 53 stays.
    withChecksum(ipv6({
      src: "::1",
      dst: "::1",
      nextHeader: 17,
      payload: udp(50_000, 53, new Uint8Array([1, 2, 3])),
    })),
    // UDP over IPv4 without a checksum: the port moves, the checksum stays 0 ("none").
    ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, payload: udp(40_000, 123) }),
    // Both ports below the range (ssh): untouched.
    withChecksum(ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      protocol: 6,
      payload: tcp({ srcPort: 22, dstPort: 1_024, flags: 0x10 }),
    })),
    // A later fragment carries no ports, whatever its bytes look like: untouched.
    ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      protocol: 17,
      payload: udp(45_000, 45_001),
      fragmentOffset: 1480,
    }),
  ];
  const file = encodePcap(LINKTYPE_RAW, packets.map((data) => ({ data })));
  const varied = records(varyEphemeralPorts(file, 20_000));

  // 32768 + (p − 32768 + 20000) mod 28232
  assert.deepEqual([port(varied[0]!, 20, 0), port(varied[0]!, 20, 2)], [36_768, 443]);
  assert.equal(transportChecksum(varied[0]!), (varied[0]![36]! << 8) | varied[0]![37]!);
  assert.deepEqual([port(varied[1]!, 40, 0), port(varied[1]!, 40, 2)], [41_768, 53]);
  assert.equal(transportChecksum(varied[1]!), (varied[1]![46]! << 8) | varied[1]![47]!);
  assert.deepEqual([port(varied[2]!, 20, 0), varied[2]![26], varied[2]![27]], [60_000, 0, 0]);
  assert.deepEqual(varied[3], packets[3]);
  assert.deepEqual(varied[4], packets[4]);
  // The same file again with the opposite rotation gives the original bytes back.
  assert.deepEqual(varyEphemeralPorts(varyEphemeralPorts(file, 20_000), 28_232 - 20_000), file);
});
