/**
 * The network and transport layers of a frame: IPv4 and IPv6 (extension headers, fragments),
 * TCP, UDP and ICMP, with DNS names and QUIC; `decode.ts` finds where they start under each
 * link layer. Every read is bounds-checked against the frame's end.
 *
 * @module
 */

import { ipv4Text, ipv6Text } from "../net/address.ts";
import { parseDns } from "./dns.ts";
import { isQuicAt } from "./quic.ts";

/** One IP packet as pad records it. */
export interface DecodedPacket {
  /** Capture time, milliseconds since the epoch (fractional). */
  tsMs: number;
  /** Length on the wire, bytes (may exceed what was captured). */
  length: number;
  family: 4 | 6;
  /** Source address as text (IPv6 in RFC 5952 form). */
  src: string;
  /** Destination address as text (IPv6 in RFC 5952 form). */
  dst: string;
  transport: "tcp" | "udp" | "icmp" | "icmpv6" | "other";
  /** The IP protocol number (IPv6: after the extension headers). */
  ipProtocol: number;
  srcPort: number | null;
  dstPort: number | null;
  /** TCP flags: FIN 0x01 … CWR 0x80, and AE (formerly NS) 0x100; null for other transports. */
  tcpFlags: number | null;
  /** ICMP/ICMPv6 type; null for other transports. */
  icmpType: number | null;
  /** ICMP/ICMPv6 code; null for other transports. */
  icmpCode: number | null;
  /** Layers joined by ":", e.g. "eth:vlan:ipv4:udp:dns" or "sll2:ipv6:udp:quic". */
  protocols: string;
  dnsQueryName: string | null;
  dnsResponseName: string | null;
  quic: boolean;
  /**
   * The transport payload (for ICMP: after type, code and checksum), a view into the frame: a
   * capture file's or ring's buffer, written over by the frames after it (slice what you keep).
   * Empty where the caller asked the decoder not to keep payloads.
   */
  payload: Uint8Array;
}

/** What `decodeFrame` makes of a frame. */
export type DecodeResult =
  | { kind: "ip"; packet: DecodedPacket }
  | { kind: "non-ip"; protocols: string }
  | { kind: "malformed"; reason: string; protocols: string };

const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;
const IPV6_FRAGMENT_OFFSET_MASK = 0xfff8;
/** IPv6 extension headers followed before calling a packet malformed. */
const MAX_IPV6_EXTENSIONS = 16;
const PROTO_HOP_BY_HOP = 0;
const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ROUTING = 43;
const PROTO_FRAGMENT = 44;
const PROTO_AH = 51;
const PROTO_ICMPV6 = 58;
const PROTO_DESTINATION_OPTIONS = 60;
const PROTO_MOBILITY = 135;
const PROTO_HIP = 139;
const PROTO_SHIM6 = 140;
const IP_PROTOCOL_NAMES: Record<number, string> = {
  2: "igmp",
  4: "ipip",
  41: "ipv6-in-ip",
  47: "gre",
  50: "esp",
  59: "no-next-header",
  89: "ospf",
  103: "pim",
  112: "vrrp",
  132: "sctp",
  136: "udplite",
};

const TCP_MIN_HEADER = 20;
const UDP_HEADER = 8;
const ICMP_HEADER = 4;
const DNS_PORT = 53;
const MDNS_PORT = 5353;
/** The payload of every packet decoded without one. */
const NO_PAYLOAD = new Uint8Array(0);
/** DNS over TCP prefixes each message with its 2-byte length (RFC 1035 4.2.2). */
const TCP_DNS_LENGTH_PREFIX = 2;

/**
 * The frame being decoded: `bytes[start, end)`. Offsets below are positions in `bytes`, and
 * every read is checked against `end`, never `bytes.length`.
 */
export class Frame {
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly tsMs: number,
    readonly wireLength: number,
    /** False: packets get an empty `payload` (a caller that keeps no payload saves the view). */
    readonly keepPayload = true,
  ) {}

  u16(offset: number): number {
    return (this.bytes[offset]! << 8) | this.bytes[offset + 1]!;
  }
}

/** A frame that is not what its headers say, up to the layer named last in `protocols`. */
export function malformed(reason: string, protocols: string): DecodeResult {
  return { kind: "malformed", reason, protocols };
}

/** The IPv4 packet at `offset` of `frame`, under the link layers `layers`. */
export function decodeIpv4(frame: Frame, offset: number, layers: string): DecodeResult {
  const bytes = frame.bytes;
  const protocols = `${layers}:ipv4`;
  if (offset + IPV4_MIN_HEADER > frame.end) return malformed("truncated IPv4 header", protocols);
  const version = bytes[offset]! >> 4;
  if (version !== 4) return malformed(`IP version ${version} in an IPv4 header`, protocols);
  const headerLength = (bytes[offset]! & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER) {
    return malformed(`IPv4 header length ${headerLength} below 20`, protocols);
  }
  if (offset + headerLength > frame.end) return malformed("truncated IPv4 options", protocols);
  const totalLength = frame.u16(offset + 2);
  if (totalLength !== 0 && totalLength < headerLength) {
    return malformed(`IPv4 total length ${totalLength} below its header length`, protocols);
  }
  const end = totalLength === 0 ? frame.end : Math.min(offset + totalLength, frame.end);
  const laterFragment = (frame.u16(offset + 6) & IPV4_FRAGMENT_OFFSET_MASK) !== 0;
  return decodeTransport(
    frame,
    offset + headerLength,
    end,
    bytes[offset + 9]!,
    laterFragment,
    4,
    ipv4Text(bytes, offset + 12),
    ipv4Text(bytes, offset + 16),
    protocols,
  );
}

/** The IPv6 packet at `offset` of `frame`, under the link layers `layers`. */
export function decodeIpv6(frame: Frame, offset: number, layers: string): DecodeResult {
  const bytes = frame.bytes;
  const protocols = `${layers}:ipv6`;
  if (offset + IPV6_HEADER > frame.end) return malformed("truncated IPv6 header", protocols);
  const version = bytes[offset]! >> 4;
  if (version !== 6) return malformed(`IP version ${version} in an IPv6 header`, protocols);
  const payloadLength = frame.u16(offset + 4);
  const end = payloadLength === 0
    ? frame.end
    : Math.min(offset + IPV6_HEADER + payloadLength, frame.end);
  let next = bytes[offset + 6]!;
  let at = offset + IPV6_HEADER;
  let laterFragment = false;
  for (let count = 0;; count++) {
    let headerLength: number;
    if (
      next === PROTO_HOP_BY_HOP || next === PROTO_ROUTING || next === PROTO_DESTINATION_OPTIONS ||
      next === PROTO_MOBILITY || next === PROTO_HIP || next === PROTO_SHIM6
    ) {
      if (at + 8 > end) return malformed("truncated IPv6 extension header", protocols);
      headerLength = (bytes[at + 1]! + 1) * 8;
    } else if (next === PROTO_FRAGMENT) {
      if (at + 8 > end) return malformed("truncated IPv6 fragment header", protocols);
      headerLength = 8;
      laterFragment = (frame.u16(at + 2) & IPV6_FRAGMENT_OFFSET_MASK) !== 0;
    } else if (next === PROTO_AH) {
      if (at + 8 > end) return malformed("truncated IPv6 authentication header", protocols);
      headerLength = (bytes[at + 1]! + 2) * 4;
    } else {
      break;
    }
    if (count === MAX_IPV6_EXTENSIONS) {
      return malformed("too many IPv6 extension headers", protocols);
    }
    if (at + headerLength > end) return malformed("truncated IPv6 extension header", protocols);
    next = bytes[at]!;
    at += headerLength;
    if (laterFragment) break;
  }
  return decodeTransport(
    frame,
    at,
    end,
    next,
    laterFragment,
    6,
    ipv6Text(bytes, offset + 8),
    ipv6Text(bytes, offset + 24),
    protocols,
  );
}

function transportOf(protocol: number): DecodedPacket["transport"] {
  switch (protocol) {
    case PROTO_TCP:
      return "tcp";
    case PROTO_UDP:
      return "udp";
    case PROTO_ICMP:
      return "icmp";
    case PROTO_ICMPV6:
      return "icmpv6";
    default:
      return "other";
  }
}

function decodeTransport(
  frame: Frame,
  at: number,
  end: number,
  protocol: number,
  laterFragment: boolean,
  family: 4 | 6,
  src: string,
  dst: string,
  layers: string,
): DecodeResult {
  const bytes = frame.bytes;
  const transport = transportOf(protocol);
  let srcPort: number | null = null;
  let dstPort: number | null = null;
  let tcpFlags: number | null = null;
  let icmpType: number | null = null;
  let icmpCode: number | null = null;
  let payloadStart = at;
  let payloadEnd = end;
  let protocols: string;
  let dnsQueryName: string | null = null;
  let dnsResponseName: string | null = null;
  let quic = false;
  if (laterFragment) {
    protocols = `${layers}:fragment`;
  } else if (transport === "tcp") {
    protocols = `${layers}:tcp`;
    if (at + TCP_MIN_HEADER > end) return malformed("truncated TCP header", protocols);
    const headerLength = (bytes[at + 12]! >> 4) * 4;
    if (headerLength < TCP_MIN_HEADER) {
      return malformed(`TCP data offset ${headerLength} below 20`, protocols);
    }
    if (at + headerLength > end) return malformed("truncated TCP options", protocols);
    srcPort = frame.u16(at);
    dstPort = frame.u16(at + 2);
    tcpFlags = ((bytes[at + 12]! & 0x01) << 8) | bytes[at + 13]!;
    payloadStart = at + headerLength;
    if ((srcPort === DNS_PORT || dstPort === DNS_PORT) && payloadStart + 2 <= end) {
      const messageEnd = Math.min(
        payloadStart + TCP_DNS_LENGTH_PREFIX + frame.u16(payloadStart),
        end,
      );
      const dns = parseDns(bytes.subarray(payloadStart + TCP_DNS_LENGTH_PREFIX, messageEnd));
      if (dns !== null) {
        protocols += ":dns";
        dnsQueryName = dns.queryName;
        dnsResponseName = dns.responseName;
      }
    }
  } else if (transport === "udp") {
    protocols = `${layers}:udp`;
    if (at + UDP_HEADER > end) return malformed("truncated UDP header", protocols);
    srcPort = frame.u16(at);
    dstPort = frame.u16(at + 2);
    const udpLength = frame.u16(at + 4);
    if (udpLength !== 0 && udpLength < UDP_HEADER) {
      return malformed(`UDP length ${udpLength} below 8`, protocols);
    }
    payloadStart = at + UDP_HEADER;
    // Length 0 is a jumbogram's (RFC 2675): the IP length rules.
    if (udpLength !== 0) payloadEnd = Math.min(at + udpLength, end);
    const mdns = srcPort === MDNS_PORT || dstPort === MDNS_PORT;
    if (mdns || srcPort === DNS_PORT || dstPort === DNS_PORT) {
      const dns = parseDns(bytes.subarray(payloadStart, payloadEnd));
      if (dns !== null) {
        protocols += mdns ? ":mdns" : ":dns";
        dnsQueryName = dns.queryName;
        dnsResponseName = dns.responseName;
      }
    } else if (isQuicAt(bytes, payloadStart, payloadEnd, srcPort, dstPort)) {
      protocols += ":quic";
      quic = true;
    }
  } else if (transport === "icmp" || transport === "icmpv6") {
    protocols = `${layers}:${transport}`;
    if (at + ICMP_HEADER > end) {
      return malformed(`truncated ${transport.toUpperCase()} header`, protocols);
    }
    icmpType = bytes[at]!;
    icmpCode = bytes[at + 1]!;
    payloadStart = at + ICMP_HEADER;
  } else {
    protocols = `${layers}:${IP_PROTOCOL_NAMES[protocol] ?? `ip-proto-${protocol}`}`;
  }
  return {
    kind: "ip",
    packet: {
      tsMs: frame.tsMs,
      length: frame.wireLength,
      family,
      src,
      dst,
      transport,
      ipProtocol: protocol,
      srcPort,
      dstPort,
      tcpFlags,
      icmpType,
      icmpCode,
      protocols,
      dnsQueryName,
      dnsResponseName,
      quic,
      payload: frame.keepPayload
        ? bytes.subarray(payloadStart, Math.max(payloadStart, payloadEnd))
        : NO_PAYLOAD,
    },
  };
}
