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
 * "null", "loop", "ppp", "chdlc", "fr", "nflog", "ipoib", "ipnet"; "vlan" per tag, "mpls" per
 * label stack, "pppoe"; "ipv4", "ipv6"; "tcp", "udp", "icmp", "icmpv6", "fragment" or the IP
 * protocol's name ("gre", "esp", …, else "ip-proto-N"); then "dns", "mdns" or "quic". Non-IP
 * frames end in the Ethertype's name ("arp", "lldp", …, else "ethertype-0xNNNN"), "llc", the
 * PPP protocol ("ppp:proto-0xc021"), "netlink", "can", "af-N" (loopback) or are "linktype-N"
 * for link types the decoder does not read.
 *
 * @module
 */

import { decodeIpv4, decodeIpv6, type DecodeResult, Frame, malformed } from "./ip_layer.ts";

export type { DecodedPacket, DecodeResult } from "./ip_layer.ts";

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
  0x88f7: "ptp",
  0x8809: "slow",
  0x893a: "ieee1905",
};
/** Stacked 802.1Q/802.1ad tags followed before giving up on a frame. */
const MAX_VLAN_TAGS = 8;
const ETHERTYPE_MPLS = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
/** MPLS label stack entries followed before giving up on a frame. */
const MAX_MPLS_LABELS = 16;
const MPLS_LABEL = 4;
// PPPoE session header: version/type(1) code(1) session id(2) length(2), then a PPP protocol.
const PPPOE_HEADER = 6;
// PPP: address 0xff, control 0x03 (both may be left out), then a 1- or 2-byte protocol.
const PPP_ADDRESS = 0xff;
const PPP_CONTROL = 0x03;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const PPP_MPLS = 0x0281;
const PPP_MPLS_MULTICAST = 0x0283;
// Cisco HDLC: address 0x0f (unicast) or 0x8f (broadcast), control, an Ethertype.
const CHDLC_HEADER = 4;
const CHDLC_UNICAST = 0x0f;
const CHDLC_BROADCAST = 0x8f;
// Frame Relay: a Q.922 address (2–4 bytes, the last with bit 0 set), then Q.933 UI (0x03)
// with an NLPID, or (Cisco's encapsulation) an Ethertype.
const FR_UI = 0x03;
const NLPID_IPV4 = 0xcc;
const NLPID_IPV6 = 0x8e;
const NLPID_SNAP = 0x80;
// NFLOG: family(1) version(1) resource id(2), then TLVs of length(2) type(2) in the capturing
// host's byte order, padded to 4 bytes; NFULA_PAYLOAD holds the packet.
const NFLOG_HEADER = 4;
const NFULA_PAYLOAD = 9;
// IP over InfiniBand (LINKTYPE_IPOIB): 40 bytes of addresses, an Ethertype, 2 reserved.
const IPOIB_HEADER = 44;
const IPOIB_TYPE = 40;
// Solaris ipnet: version(1) family(1) htype(2) length(4) ifindex(4) grifindex(4) zones(8).
const IPNET_HEADER = 24;
const IPNET_AF_INET6 = 26;
// 802.1AE MACsec SecTAG: TCI/AN(1) short length(1) packet number(4), the SCI(8) when TCI's SC
// bit is set; then, unless E (encrypted) or C (changed) is set, the frame's own Ethertype in
// the clear.
const ETHERTYPE_MACSEC = 0x88e5;
const MACSEC_TAG = 6;
const MACSEC_SCI = 8;
const MACSEC_TCI_SC = 0x20;
const MACSEC_TCI_E = 0x08;
const MACSEC_TCI_C = 0x04;
// Network Service Header (RFC 8300): its length in 4-byte words at bits 0–5 of byte 1, next
// protocol at byte 3 (1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS).
const ETHERTYPE_NSH = 0x894f;
// Arista's vendor header (AVSP): subtype(2) version(2), a time stamp of 8 (version 0x10) or 6
// (0x20) bytes, then the frame's Ethertype; bit 0x100 of the version (a second format of the
// same size, as Wireshark reads it) does not change the length.
const ETHERTYPE_ARISTA = 0xd28b;
const ARISTA_TIMESTAMP = 0x0001;
const ARISTA_STAMP_BYTES: Record<number, number> = { 0x0010: 8, 0x0020: 6 };

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
 * buffer (making a view costs about 45 ns, nearly half of what decoding the packet does). For
 * the same reason a caller that keeps no payload passes `keepPayload` false, and each packet's
 * `payload` is then empty.
 */
export function decodeFrameAt(
  linkType: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  tsMs: number,
  wireLength: number,
  keepPayload = true,
): DecodeResult {
  try {
    return decodeLink(new Frame(bytes, start, end, tsMs, wireLength, keepPayload), linkType);
  } catch (error) {
    // Unreachable by design (every read is bounds-checked); kept so one bug costs one packet.
    return malformed(`decoder error: ${error instanceof Error ? error.message : error}`, "");
  }
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
  /**
   * False where pad's capture file reader leaves classic files of this type to libpcap, which
   * rewrites their headers when the file was written in the other byte order (NFLOG's TLVs).
   */
  padReader?: false;
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
  { numbers: [9], name: "PPP", decode: (f) => decodePpp(f, f.start, "ppp") },
  { numbers: [50], name: "PPP in HDLC framing", decode: decodePppSerial },
  { numbers: [104], name: "Cisco HDLC", decode: (f) => decodeChdlc(f, f.start) },
  { numbers: [107], name: "Frame Relay", decode: decodeFrameRelay },
  { numbers: [228], name: "raw IPv4", decode: (f) => decodeIpv4(f, f.start, "raw") },
  { numbers: [229], name: "raw IPv6", decode: (f) => decodeIpv6(f, f.start, "raw") },
  { numbers: [226], name: "Solaris ipnet", decode: decodeIpnet },
  {
    numbers: [239],
    name: "Linux netfilter log (NFLOG)",
    decode: decodeNflog,
    padReader: false,
  },
  { numbers: [242], name: "IP over InfiniBand", decode: decodeIpoib },
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

/** True when pad's capture file reader reads classic files of this link type itself. */
export function readsLinkType(linkType: number): boolean {
  return decodesLinkType(linkType) && BY_NUMBER[linkType]!.padReader !== false;
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
  if (type === ETHERTYPE_MPLS || type === ETHERTYPE_MPLS_MULTICAST) {
    return decodeMpls(frame, at, protocols);
  }
  if (type === ETHERTYPE_MACSEC) return decodeMacsec(frame, at, protocols);
  if (type === ETHERTYPE_NSH) return decodeNsh(frame, at, protocols);
  if (type === ETHERTYPE_ARISTA) return decodeArista(frame, at, protocols);
  if (type === ETHERTYPE_PPPOE_SESSION) {
    if (at + PPPOE_HEADER > frame.end) return malformed("truncated PPPoE header", protocols);
    return decodePpp(frame, at + PPPOE_HEADER, `${protocols}:pppoe:ppp`, false);
  }
  if (type <= ETHERTYPE_MAX_LENGTH) return { kind: "non-ip", protocols: `${protocols}:llc` };
  const name = ETHERTYPE_NAMES[type] ?? `ethertype-0x${type.toString(16).padStart(4, "0")}`;
  return { kind: "non-ip", protocols: `${protocols}:${name}` };
}

/**
 * An MPLS label stack, then what its bottom label carries: IPv4 or IPv6 by the first nibble
 * (as tcpdump and Wireshark guess it; anything else, e.g. an Ethernet pseudowire, is not IP).
 */
function decodeMpls(frame: Frame, offset: number, layers: string): DecodeResult {
  const protocols = `${layers}:mpls`;
  let at = offset;
  for (let labels = 0;; labels++) {
    if (labels === MAX_MPLS_LABELS) return malformed("too many MPLS labels", protocols);
    if (at + MPLS_LABEL > frame.end) return malformed("truncated MPLS label", protocols);
    const bottom = (frame.bytes[at + 2]! & 0x01) !== 0;
    at += MPLS_LABEL;
    if (bottom) break;
  }
  if (at >= frame.end) return { kind: "non-ip", protocols };
  const version = frame.bytes[at]! >> 4;
  if (version === 4) return decodeIpv4(frame, at, protocols);
  if (version === 6) return decodeIpv6(frame, at, protocols);
  return { kind: "non-ip", protocols };
}

/**
 * A PPP frame at `offset`: address and control when present (`framed`), a protocol of one byte
 * (odd: compressed) or two, then IPv4, IPv6 or MPLS.
 */
function decodePpp(frame: Frame, offset: number, layers: string, framed = true): DecodeResult {
  let at = offset;
  const bytes = frame.bytes;
  if (
    framed && at + 2 <= frame.end && bytes[at] === PPP_ADDRESS && bytes[at + 1] === PPP_CONTROL
  ) {
    at += 2;
  }
  if (at >= frame.end) return malformed("truncated PPP protocol", layers);
  let protocol: number;
  if ((bytes[at]! & 0x01) !== 0) {
    protocol = bytes[at]!;
    at += 1;
  } else {
    if (at + 2 > frame.end) return malformed("truncated PPP protocol", layers);
    protocol = frame.u16(at);
    at += 2;
  }
  if (protocol === PPP_IPV4) return decodeIpv4(frame, at, layers);
  if (protocol === PPP_IPV6) return decodeIpv6(frame, at, layers);
  if (protocol === PPP_MPLS || protocol === PPP_MPLS_MULTICAST) {
    return decodeMpls(frame, at, layers);
  }
  return {
    kind: "non-ip",
    protocols: `${layers}:proto-0x${protocol.toString(16).padStart(4, "0")}`,
  };
}

/** PPP in HDLC-like framing (RFC 1662), or Cisco HDLC, which shares the link type. */
function decodePppSerial(frame: Frame): DecodeResult {
  const first = frame.bytes[frame.start];
  if (first === CHDLC_UNICAST || first === CHDLC_BROADCAST) return decodeChdlc(frame, frame.start);
  return decodePpp(frame, frame.start, "ppp");
}

/** Cisco HDLC: address, control, then an Ethertype. */
function decodeChdlc(frame: Frame, offset: number): DecodeResult {
  if (offset + CHDLC_HEADER > frame.end) return malformed("truncated Cisco HDLC header", "chdlc");
  return decodeEthertype(frame, offset + CHDLC_HEADER, frame.u16(offset + 2), "chdlc");
}

/** Frame Relay: a Q.922 address, then an NLPID after Q.933's UI, or an Ethertype (Cisco). */
function decodeFrameRelay(frame: Frame): DecodeResult {
  const bytes = frame.bytes;
  let at = frame.start;
  // The address ends at the byte whose extension bit (bit 0) is set: 2 to 4 bytes.
  for (let length = 1;; length++) {
    if (at >= frame.end) return malformed("truncated Frame Relay address", "fr");
    const last = (bytes[at++]! & 0x01) !== 0;
    if (last && length >= 2) break;
    if (length === 4) return malformed("Frame Relay address longer than 4 bytes", "fr");
  }
  if (at >= frame.end) return malformed("truncated Frame Relay header", "fr");
  if (bytes[at] !== FR_UI) {
    if (at + 2 > frame.end) return malformed("truncated Frame Relay header", "fr");
    return decodeEthertype(frame, at + 2, frame.u16(at), "fr");
  }
  at++;
  if (at < frame.end && bytes[at] === 0) at++; // an optional pad byte before the NLPID
  if (at >= frame.end) return malformed("truncated Frame Relay NLPID", "fr");
  const nlpid = bytes[at++]!;
  if (nlpid === NLPID_IPV4) return decodeIpv4(frame, at, "fr");
  if (nlpid === NLPID_IPV6) return decodeIpv6(frame, at, "fr");
  if (nlpid === NLPID_SNAP) {
    // OUI (3 bytes), then the protocol: an Ethertype when the OUI is 0.
    if (at + 5 > frame.end) return malformed("truncated Frame Relay SNAP header", "fr");
    const oui = (bytes[at]! << 16) | (bytes[at + 1]! << 8) | bytes[at + 2]!;
    if (oui === 0) return decodeEthertype(frame, at + 5, frame.u16(at + 3), "fr:snap");
    return { kind: "non-ip", protocols: "fr:snap" };
  }
  return { kind: "non-ip", protocols: `fr:nlpid-0x${nlpid.toString(16).padStart(2, "0")}` };
}

/** NFLOG: the packet is the payload TLV; its family says IPv4 or IPv6. */
function decodeNflog(frame: Frame): DecodeResult {
  const bytes = frame.bytes;
  if (frame.end - frame.start < NFLOG_HEADER) return malformed("truncated NFLOG header", "nflog");
  const family = bytes[frame.start]!;
  let at = frame.start + NFLOG_HEADER;
  // The TLVs are in the capturing host's byte order: little-endian unless that makes no sense.
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const little = at + 4 > frame.end || (() => {
    const length = view.getUint16(at, true);
    return length >= 4 && at + length <= frame.end;
  })();
  while (at + 4 <= frame.end) {
    const length = view.getUint16(at, little);
    const type = view.getUint16(at + 2, little);
    if (length < 4 || at + length > frame.end) return malformed("bad NFLOG TLV length", "nflog");
    if (type === NFULA_PAYLOAD) {
      const payload = new Frame(
        bytes,
        at + 4,
        at + length,
        frame.tsMs,
        frame.wireLength,
        frame.keepPayload,
      );
      if (family === AF_INET) return decodeIpv4(payload, payload.start, "nflog");
      if (AF_INET6.has(family)) return decodeIpv6(payload, payload.start, "nflog");
      return { kind: "non-ip", protocols: `nflog:af-${family}` };
    }
    at += (length + 3) & ~3;
  }
  return { kind: "non-ip", protocols: "nflog" };
}

/** IP over InfiniBand: addresses, then an Ethertype. */
function decodeIpoib(frame: Frame): DecodeResult {
  if (frame.end - frame.start < IPOIB_HEADER) return malformed("truncated IPoIB header", "ipoib");
  return decodeEthertype(
    frame,
    frame.start + IPOIB_HEADER,
    frame.u16(frame.start + IPOIB_TYPE),
    "ipoib",
  );
}

/** Solaris ipnet: a fixed header whose family says IPv4 or IPv6. */
function decodeIpnet(frame: Frame): DecodeResult {
  if (frame.end - frame.start < IPNET_HEADER) return malformed("truncated ipnet header", "ipnet");
  const family = frame.bytes[frame.start + 1]!;
  if (family === AF_INET) return decodeIpv4(frame, frame.start + IPNET_HEADER, "ipnet");
  if (family === IPNET_AF_INET6) return decodeIpv6(frame, frame.start + IPNET_HEADER, "ipnet");
  return { kind: "non-ip", protocols: `ipnet:af-${family}` };
}

/** MACsec: the SecTAG, then (integrity only) the frame's Ethertype; encrypted is not IP. */
function decodeMacsec(frame: Frame, offset: number, layers: string): DecodeResult {
  const protocols = `${layers}:macsec`;
  if (offset + MACSEC_TAG > frame.end) return malformed("truncated MACsec tag", protocols);
  const tci = frame.bytes[offset]!;
  if ((tci & (MACSEC_TCI_E | MACSEC_TCI_C)) !== 0) return { kind: "non-ip", protocols };
  const at = offset + MACSEC_TAG + ((tci & MACSEC_TCI_SC) !== 0 ? MACSEC_SCI : 0);
  if (at + 2 > frame.end) return malformed("truncated MACsec tag", protocols);
  return decodeEthertype(frame, at + 2, frame.u16(at), protocols);
}

/** A Network Service Header, then the packet it carries. */
function decodeNsh(frame: Frame, offset: number, layers: string): DecodeResult {
  const protocols = `${layers}:nsh`;
  if (offset + 8 > frame.end) return malformed("truncated NSH header", protocols);
  const at = offset + (frame.bytes[offset + 1]! & 0x3f) * 4;
  if (at < offset + 8) return malformed("NSH length below its base header", protocols);
  switch (frame.bytes[offset + 3]) {
    case 1:
      return decodeIpv4(frame, at, protocols);
    case 2:
      return decodeIpv6(frame, at, protocols);
    case 3:
      if (at + ETHERNET_HEADER > frame.end) {
        return malformed("truncated Ethernet header", protocols);
      }
      return decodeEthertype(frame, at + ETHERNET_HEADER, frame.u16(at + 12), `${protocols}:eth`);
    case 5:
      return decodeMpls(frame, at, protocols);
    default:
      return { kind: "non-ip", protocols };
  }
}

/** Arista's time-stamp header, then the frame's own Ethertype. */
function decodeArista(frame: Frame, offset: number, layers: string): DecodeResult {
  const protocols = `${layers}:arista`;
  if (offset + 4 > frame.end) return malformed("truncated Arista header", protocols);
  const stamp = ARISTA_STAMP_BYTES[frame.u16(offset + 2) & ~0x0100];
  if (frame.u16(offset) !== ARISTA_TIMESTAMP || stamp === undefined) {
    return { kind: "non-ip", protocols };
  }
  const at = offset + 4 + stamp;
  if (at + 2 > frame.end) return malformed("truncated Arista header", protocols);
  return decodeEthertype(frame, at + 2, frame.u16(at), protocols);
}
