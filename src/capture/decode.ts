/**
 * Decodes one captured frame into the facts pad keeps: addresses, transport, ports, protocol
 * layers, DNS names and QUIC. Never throws: a frame is an IP packet, a non-IP frame, or malformed.
 *
 * Rules:
 * - Malformed: a header the frame is too short for, or whose fields contradict themselves (IP
 *   version, header length below the minimum, TCP data offset below 5, UDP length 1..7), up to
 *   and including the transport header (TCP 20+ bytes, UDP 8, ICMP/ICMPv6 4). A frame cut short by
 *   the snapshot length is fine as long as those headers are whole.
 * - Application layers are best effort: a DNS port whose payload is shorter than a DNS header
 *   adds no "dns" layer, and a DNS message cut short keeps its layer with null names.
 * - Fragments: only the first fragment carries ports; later ones get the layer "fragment", the
 *   transport named by the IP protocol number, and null ports.
 * - Ethernet trailer padding is trimmed by the IP lengths; an IP total/payload length of 0 (TSO,
 *   jumbograms) means "to the end of the frame".
 * - DNS (UDP 53, TCP 53 after its length prefix, mDNS on UDP 5353): see `parseDns` for the names.
 *   QUIC: see `isQuic` (long headers on any port, short headers only with port 443).
 *
 * Layer names in `protocols`: link "eth", "sll", "sll2", "raw" (link types 12, 14, 101, 228, 229),
 * "null", "loop"; "vlan" per tag; "ipv4", "ipv6"; "tcp", "udp", "icmp", "icmpv6", "fragment" or
 * the IP protocol's name ("gre", "esp", …, else "ip-proto-N"); then "dns", "mdns" or "quic".
 * Non-IP frames end in the Ethertype's name ("arp", "lldp", …, else "ethertype-0xNNNN"), "llc",
 * "netlink", "can", "af-N" (loopback) or are "linktype-N" for link types the decoder does not read.
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
  /** The transport payload (for ICMP: after type, code and checksum), a view into the frame. */
  payload: Uint8Array;
}

/** What `decodeFrame` makes of a frame. */
export type DecodeResult =
  | { kind: "ip"; packet: DecodedPacket }
  | { kind: "non-ip"; protocols: string }
  | { kind: "malformed"; reason: string; protocols: string };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
/** Ethernet "type" values up to 1500 are 802.3 lengths (an LLC header follows). */
const ETHERTYPE_MAX_LENGTH = 1500;
const ETHERTYPE_NAMES: Record<number, string> = {
  0x0806: "arp",
  0x8035: "rarp",
  0x888e: "eapol",
  0x88cc: "lldp",
  0x8863: "pppoed",
  0x8864: "pppoes",
  0x8847: "mpls",
  0x8848: "mpls",
  0x88e5: "macsec",
  0x88f7: "ptp",
  0x8809: "slow",
  0x893a: "ieee1905",
};
/** Stacked 802.1Q/802.1ad tags followed before giving up on a frame. */
const MAX_VLAN_TAGS = 8;

const ETHERNET_HEADER = 14;
const VLAN_TAG = 4;
// Linux cooked v1: packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2).
const SLL_HEADER = 16;
const SLL_HATYPE = 2;
const SLL_PROTOCOL = 14;
// Linux cooked v2: protocol(2) reserved(2) interface index(4) ARPHRD type(2) packet type(1)
// address length(1) address(8).
const SLL2_HEADER = 20;
const SLL2_PROTOCOL = 0;
const SLL2_HATYPE = 8;
const ARPHRD_NETLINK = 824;
const ARPHRD_CAN = 280;
// Linux cooked protocol values that are not Ethertypes (linux/if_ether.h).
const SLL_PROTOCOL_NAMES: Record<number, string> = { 0x0001: "802.3", 0x0004: "llc" };
// BSD loopback: a 4-byte address family in the capturing host's byte order (LOOP: network order).
const NULL_HEADER = 4;
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]); // Linux, NetBSD/OpenBSD, FreeBSD, macOS

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
/** DNS over TCP prefixes each message with its 2-byte length (RFC 1035 4.2.2). */
const TCP_DNS_LENGTH_PREFIX = 2;

/** Decodes one frame of the given libpcap link type; never throws. */
export function decodeFrame(
  linkType: number,
  frame: Uint8Array,
  tsMs: number,
  wireLength: number,
): DecodeResult {
  return decodeFrameAt(linkType, frame, 0, frame.length, tsMs, wireLength);
}

/**
 * Decodes the frame held in `bytes[start, end)`, exactly as `decodeFrame` decodes that
 * subarray, without making it: a capture file reader passes frames where they lie in its read
 * buffer (making a view costs about 45 ns, nearly half of what decoding the packet does).
 */
export function decodeFrameAt(
  linkType: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  tsMs: number,
  wireLength: number,
): DecodeResult {
  try {
    return decodeLink(new Frame(bytes, start, end, tsMs, wireLength), linkType);
  } catch (error) {
    // Unreachable by design (every read is bounds-checked); kept so one bug costs one packet.
    return malformed(`decoder error: ${error instanceof Error ? error.message : error}`, "");
  }
}

/**
 * The frame being decoded: `bytes[start, end)`. Offsets below are positions in `bytes`, and
 * every read is checked against `end`, never `bytes.length`.
 */
class Frame {
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly tsMs: number,
    readonly wireLength: number,
  ) {}

  u16(offset: number): number {
    return (this.bytes[offset]! << 8) | this.bytes[offset + 1]!;
  }
}

function malformed(reason: string, protocols: string): DecodeResult {
  return { kind: "malformed", reason, protocols };
}

/** A link-layer type pad decodes: the numbers it is known by, its name, and its decoder. */
interface LinkType {
  /**
   * libpcap's DLT_ value first, then other numbers the same frames come with (raw IP is DLT 12,
   * 14 on OpenBSD, and LINKTYPE 101 in files).
   */
  numbers: readonly number[];
  name: string;
  decode(frame: Frame): DecodeResult;
}

/**
 * Every link type pad decodes, in one table: the decoder dispatches on it, pad's capture file
 * reader reads the files whose link type is in it (it leaves the rest to libpcap), and their
 * names come from it.
 */
const LINK_TYPES: readonly LinkType[] = [
  { numbers: [0], name: "BSD loopback (null)", decode: (f) => decodeLoopback(f, "null") },
  { numbers: [1], name: "Ethernet", decode: decodeEthernet },
  { numbers: [12, 14, 101], name: "raw IP", decode: decodeRawIp },
  { numbers: [108], name: "OpenBSD loopback", decode: (f) => decodeLoopback(f, "loop") },
  {
    numbers: [113],
    name: "Linux cooked (SLL)",
    decode: (f) =>
      f.end - f.start < SLL_HEADER
        ? malformed("truncated Linux cooked header", "sll")
        : decodeCooked(
          f,
          f.start + SLL_HEADER,
          f.u16(f.start + SLL_HATYPE),
          f.u16(f.start + SLL_PROTOCOL),
          "sll",
        ),
  },
  { numbers: [228], name: "raw IPv4", decode: (f) => decodeIpv4(f, f.start, "raw") },
  { numbers: [229], name: "raw IPv6", decode: (f) => decodeIpv6(f, f.start, "raw") },
  {
    numbers: [276],
    name: "Linux cooked v2 (SLL2)",
    decode: (f) =>
      f.end - f.start < SLL2_HEADER
        ? malformed("truncated Linux cooked v2 header", "sll2")
        : decodeCooked(
          f,
          f.start + SLL2_HEADER,
          f.u16(f.start + SLL2_HATYPE),
          f.u16(f.start + SLL2_PROTOCOL),
          "sll2",
        ),
  },
];

/** The table by number, as a sparse array: a lookup per frame costs an index, not a hash. */
const BY_NUMBER: (LinkType | undefined)[] = [];
for (const type of LINK_TYPES) for (const n of type.numbers) BY_NUMBER[n] = type;

/** True when pad decodes frames of this link type (a DLT_ value, or a file's LINKTYPE_). */
export function decodesLinkType(linkType: number): boolean {
  return BY_NUMBER[linkType] !== undefined;
}

/** A readable name for a link type, e.g. `linkTypeName(113)` is "Linux cooked (SLL)". */
export function linkTypeName(linkType: number): string {
  return BY_NUMBER[linkType]?.name ?? `link type ${linkType}`;
}

function decodeLink(frame: Frame, linkType: number): DecodeResult {
  const type = BY_NUMBER[linkType];
  return type ? type.decode(frame) : { kind: "non-ip", protocols: `linktype-${linkType}` };
}

function decodeEthernet(frame: Frame): DecodeResult {
  if (frame.end - frame.start < ETHERNET_HEADER) {
    return malformed("truncated Ethernet header", "eth");
  }
  const type = frame.u16(frame.start + 12);
  if (type <= ETHERTYPE_MAX_LENGTH) return { kind: "non-ip", protocols: "eth:llc" };
  return decodeEthertype(frame, frame.start + ETHERNET_HEADER, type, "eth");
}

function decodeRawIp(frame: Frame): DecodeResult {
  if (frame.end - frame.start < 1) return malformed("empty raw IP frame", "raw");
  const version = frame.bytes[frame.start]! >> 4;
  if (version === 4) return decodeIpv4(frame, frame.start, "raw");
  if (version === 6) return decodeIpv6(frame, frame.start, "raw");
  return malformed(`IP version ${version} in a raw IP frame`, "raw");
}

/** BSD (`null`) and OpenBSD (`loop`) loopback: a 4-byte address family, then IP. */
function decodeLoopback(frame: Frame, layer: "null" | "loop"): DecodeResult {
  const bytes = frame.bytes;
  const start = frame.start;
  if (frame.end - start < NULL_HEADER) return malformed("truncated loopback header", layer);
  // The family is a small number, so whichever byte order leaves the upper half zero is right.
  const b0 = bytes[start]!;
  const b1 = bytes[start + 1]!;
  const b2 = bytes[start + 2]!;
  const b3 = bytes[start + 3]!;
  let family = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  if (family > 0xffff) family = ((b3 << 24) | (b2 << 16) | (b1 << 8) | b0) >>> 0;
  if (family === AF_INET) return decodeIpv4(frame, start + NULL_HEADER, layer);
  if (AF_INET6.has(family)) return decodeIpv6(frame, start + NULL_HEADER, layer);
  return { kind: "non-ip", protocols: `${layer}:af-${family}` };
}

function decodeCooked(
  frame: Frame,
  offset: number,
  hardwareType: number,
  protocol: number,
  layer: string,
): DecodeResult {
  if (hardwareType === ARPHRD_NETLINK) return { kind: "non-ip", protocols: `${layer}:netlink` };
  if (hardwareType === ARPHRD_CAN) return { kind: "non-ip", protocols: `${layer}:can` };
  const special = SLL_PROTOCOL_NAMES[protocol];
  if (special !== undefined) return { kind: "non-ip", protocols: `${layer}:${special}` };
  return decodeEthertype(frame, offset, protocol, layer);
}

function decodeEthertype(
  frame: Frame,
  offset: number,
  ethertype: number,
  layers: string,
): DecodeResult {
  let type = ethertype;
  let at = offset;
  let protocols = layers;
  for (
    let tags = 0;
    type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD;
    tags++
  ) {
    protocols += ":vlan";
    if (tags === MAX_VLAN_TAGS) return malformed("too many VLAN tags", protocols);
    if (at + VLAN_TAG > frame.end) return malformed("truncated VLAN tag", protocols);
    type = frame.u16(at + 2);
    at += VLAN_TAG;
  }
  if (type === ETHERTYPE_IPV4) return decodeIpv4(frame, at, protocols);
  if (type === ETHERTYPE_IPV6) return decodeIpv6(frame, at, protocols);
  if (type <= ETHERTYPE_MAX_LENGTH) return { kind: "non-ip", protocols: `${protocols}:llc` };
  const name = ETHERTYPE_NAMES[type] ?? `ethertype-0x${type.toString(16).padStart(4, "0")}`;
  return { kind: "non-ip", protocols: `${protocols}:${name}` };
}

function decodeIpv4(frame: Frame, offset: number, layers: string): DecodeResult {
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

function decodeIpv6(frame: Frame, offset: number, layers: string): DecodeResult {
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
      payload: bytes.subarray(payloadStart, Math.max(payloadStart, payloadEnd)),
    },
  };
}
