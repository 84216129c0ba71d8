/**
 * A mixed capture of one host (192.168.1.0/24) talking to many others, for import tests and the
 * import benchmark: DNS over UDP and TCP, mDNS, HTTPS over TCP, QUIC over IPv6, ICMP, a VLAN
 * tag, IPv4 fragments, ARP, and a few malformed frames, with remote addresses drawn from a pool
 * larger than any cache pad keeps.
 *
 * @module
 */

import { mulberry32 } from "../../src/random.ts";
import {
  dnsCnameResponse,
  dnsQuery,
  ethernet,
  icmp,
  ipv4,
  ipv6,
  quicInitial,
  quicShort,
  tcp,
  tcpDns,
  udp,
} from "./frames.ts";
import { PcapWriter } from "./pcap_writer.ts";
import { PcapngWriter } from "./pcapng_writer.ts";

/** Where a template's addresses are, so each record can get others. */
interface Template {
  data: Uint8Array;
  /** Offset of the remote address (4 or 16 bytes), and of the local one. */
  remoteAt: number;
  localAt: number;
  family: 4 | 6;
}

const LOCAL_V4 = "192.168.1.20";
const REMOTE_V4 = "93.184.216.34";
const LOCAL_V6 = "fd00::20";
const REMOTE_V6 = "2001:db8:1::443";
const ETH = 14;

function templates(): Template[] {
  const v4 = (out: boolean, protocol: number, payload: Uint8Array, vlan = false): Template => {
    const packet = ipv4({
      src: out ? LOCAL_V4 : REMOTE_V4,
      dst: out ? REMOTE_V4 : LOCAL_V4,
      protocol,
      payload,
    });
    const tags = vlan ? [{ vid: 7 }] : undefined;
    const data = ethernet({ ethertype: 0x0800, payload: packet, vlans: tags });
    const ip = ETH + (vlan ? 4 : 0);
    return {
      data,
      remoteAt: ip + (out ? 16 : 12),
      localAt: ip + (out ? 12 : 16),
      family: 4,
    };
  };
  const v6 = (out: boolean, payload: Uint8Array): Template => {
    const packet = ipv6({
      src: out ? LOCAL_V6 : REMOTE_V6,
      dst: out ? REMOTE_V6 : LOCAL_V6,
      nextHeader: 17,
      payload,
    });
    return {
      data: ethernet({ ethertype: 0x86dd, payload: packet }),
      remoteAt: ETH + (out ? 24 : 8),
      localAt: ETH + (out ? 8 : 24),
      family: 6,
    };
  };
  const fragment = ethernet({
    ethertype: 0x0800,
    payload: ipv4({
      src: REMOTE_V4,
      dst: LOCAL_V4,
      protocol: 17,
      payload: new Uint8Array(64),
      fragmentOffset: 1480,
    }),
  });
  const arp = ethernet({ ethertype: 0x0806, payload: new Uint8Array(28) });
  const truncatedTcp = v4(true, 6, tcp({ srcPort: 50_000, dstPort: 443, flags: 0x10 }));
  return [
    v4(true, 17, udp(40_000, 53, dnsQuery("www.example.com"))),
    v4(
      false,
      17,
      udp(53, 40_000, dnsCnameResponse("www.example.com", "edge.example.net", "192.0.2.9")),
    ),
    v4(true, 6, tcp({ srcPort: 50_000, dstPort: 443, flags: 0x10, options: new Uint8Array(12) })),
    v4(
      false,
      6,
      tcp({ srcPort: 443, dstPort: 50_000, flags: 0x18, payload: new Uint8Array(1400) }),
    ),
    v4(false, 6, tcp({ srcPort: 443, dstPort: 50_000, flags: 0x10 })),
    v4(
      true,
      6,
      tcp({ srcPort: 50_001, dstPort: 53, flags: 0x18, payload: tcpDns(dnsQuery("a.example")) }),
    ),
    v4(true, 17, udp(5353, 5353, dnsQuery("printer.local")), true),
    v4(true, 1, icmp(8, 0, new Uint8Array(56))),
    v6(true, udp(50_001, 443, quicShort(1200))),
    v6(false, udp(443, 50_001, quicShort(60))),
    v6(true, udp(50_002, 443, quicInitial(1200))),
    { data: fragment, remoteAt: ETH + 12, localAt: ETH + 16, family: 4 },
    { data: arp, remoteAt: -1, localAt: -1, family: 4 },
    { ...truncatedTcp, data: truncatedTcp.data.subarray(0, ETH + 20 + 12) },
  ];
}

/**
 * Frames of the mix (seeded: the same frames every time). Traffic comes in conversations of 1 to
 * 16 packets between one local host and one remote address; remote addresses are drawn from a
 * pool of `remotes`, skewed so that a few are frequent and most are rare, as on a real link.
 */
export function* mixedFrames(
  packets: number,
  options: { remotes?: number; startMs?: number; spanMs?: number } = {},
): Generator<{ data: Uint8Array; tsMs: number }> {
  const list = templates();
  const random = mulberry32(0x31c5);
  const remotes = options.remotes ?? 20_000;
  const startMs = options.startMs ?? Date.UTC(2026, 10, 21, 9, 0, 0);
  const spanMs = options.spanMs ?? 600_000;
  let template = list[0]!;
  let remote = 0;
  let host = 0;
  let left = 0;
  for (let i = 0; i < packets; i++) {
    if (left === 0) {
      template = list[Math.floor(random() * list.length)]!;
      remote = Math.floor(remotes * random() ** 3);
      host = 20 + Math.floor(random() * 16);
      left = 1 + Math.floor(random() * 16);
    }
    left--;
    const data = template.data.slice();
    if (template.remoteAt >= 0) {
      const view = new DataView(data.buffer);
      if (template.family === 4) {
        view.setUint32(template.remoteAt, 0x5db80000 + remote);
        data[template.localAt + 3] = host;
      } else {
        view.setUint32(template.remoteAt + 12, remote);
        data[template.localAt + 15] = host;
      }
    }
    yield { data, tsMs: startMs + Math.floor((i * spanMs) / packets) + (i % 1000) / 1000 };
  }
}

/** Writes `packets` frames of the mix as a classic pcap (µs) or pcapng file. */
export function writeMixedCapture(
  path: string,
  packets: number,
  format: "pcap" | "pcapng" = "pcap",
  options: { remotes?: number; spanMs?: number } = {},
): void {
  using writer = format === "pcap" ? new PcapWriter(path, 1) : new PcapngWriter(path, 1);
  for (const frame of mixedFrames(packets, options)) writer.write(frame);
}
