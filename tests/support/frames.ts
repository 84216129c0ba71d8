/**
 * Builders for the frames the decoder tests feed through pcap files: link layers, IP, transport
 * headers and DNS messages, byte by byte (checksums left zero: the decoder does not check them).
 *
 * @module
 */

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

function u32(value: number): Uint8Array {
  return new Uint8Array([
    (value >>> 24) & 0xff,
    (value >> 16) & 0xff,
    (value >> 8) & 0xff,
    value & 0xff,
  ]);
}

/** "192.0.2.1" → 4 bytes. */
export function ipv4Bytes(text: string): Uint8Array {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new TypeError(`Invalid IPv4 address: "${text}"`);
  }
  return new Uint8Array(parts);
}

/** "2001:db8::1" (with at most one "::") → 16 bytes. */
export function ipv6Bytes(text: string): Uint8Array {
  const [head = "", tail] = text.split("::");
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = tail === undefined
    ? left
    : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) {
    throw new TypeError(`Invalid IPv6 address: "${text}"`);
  }
  return concat(...groups.map(u16));
}

/** Ethernet II frame, with optional 802.1Q/802.1ad tags (outermost first). */
export function ethernet(options: {
  ethertype: number;
  payload: Uint8Array;
  vlans?: { tpid?: number; vid: number }[];
  src?: Uint8Array;
  dst?: Uint8Array;
}): Uint8Array {
  const tags = (options.vlans ?? []).map((tag) => concat(u16(tag.tpid ?? 0x8100), u16(tag.vid)));
  return concat(
    options.dst ?? new Uint8Array([0x02, 0, 0, 0, 0, 0x02]),
    options.src ?? new Uint8Array([0x02, 0, 0, 0, 0, 0x01]),
    ...tags,
    u16(options.ethertype),
    options.payload,
  );
}

/** Linux cooked (SLL, link type 113) frame. */
export function sll(
  options: { protocol: number; payload: Uint8Array; hatype?: number },
): Uint8Array {
  return concat(
    u16(0), // packet type: to us
    u16(options.hatype ?? 1), // ARPHRD_ETHER
    u16(6),
    new Uint8Array([0x02, 0, 0, 0, 0, 0x01, 0, 0]),
    u16(options.protocol),
    options.payload,
  );
}

/** Linux cooked v2 (SLL2, link type 276) frame. */
export function sll2(
  options: { protocol: number; payload: Uint8Array; hatype?: number },
): Uint8Array {
  return concat(
    u16(options.protocol),
    u16(0), // reserved
    u32(1), // interface index
    u16(options.hatype ?? 1),
    new Uint8Array([0, 6]), // packet type, address length
    new Uint8Array([0x02, 0, 0, 0, 0, 0x01, 0, 0]),
    options.payload,
  );
}

/** BSD loopback header (link type 0 or 108) with the family in the chosen byte order. */
export function loopback(
  options: { family: number; littleEndian: boolean; payload: Uint8Array },
): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, options.family, options.littleEndian);
  return concat(header, options.payload);
}

/** IPv4 packet (no options unless given). */
export function ipv4(options: {
  src: string;
  dst: string;
  protocol: number;
  payload: Uint8Array;
  fragmentOffset?: number;
  moreFragments?: boolean;
  options?: Uint8Array;
  totalLength?: number;
}): Uint8Array {
  const ipOptions = options.options ?? new Uint8Array();
  const headerLength = 20 + ipOptions.length;
  const flags = ((options.moreFragments ? 0x2000 : 0) | ((options.fragmentOffset ?? 0) >> 3)) &
    0xffff;
  return concat(
    new Uint8Array([0x40 | (headerLength / 4), 0]),
    u16(options.totalLength ?? headerLength + options.payload.length),
    u16(0x1234),
    u16(flags),
    new Uint8Array([64, options.protocol]),
    u16(0),
    ipv4Bytes(options.src),
    ipv4Bytes(options.dst),
    ipOptions,
    options.payload,
  );
}

/** One IPv6 extension header: its type and body (padded to the header's length unit). */
export interface Ipv6Extension {
  type: number;
  body?: Uint8Array;
}

/** IPv6 packet with optional extension headers. */
export function ipv6(options: {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Uint8Array;
  extensions?: Ipv6Extension[];
}): Uint8Array {
  const extensions = options.extensions ?? [];
  const encoded: Uint8Array[] = [];
  extensions.forEach((extension, i) => {
    const next = extensions[i + 1]?.type ?? options.nextHeader;
    if (extension.type === 44) {
      encoded.push(concat(new Uint8Array([next, 0]), extension.body ?? new Uint8Array(6)));
    } else if (extension.type === 51) {
      const body = extension.body ?? new Uint8Array(10); // SPI, sequence, 2 bytes of ICV
      const length = (2 + body.length) / 4 - 2;
      encoded.push(concat(new Uint8Array([next, length]), body));
    } else {
      const body = extension.body ?? new Uint8Array(6);
      const length = (2 + body.length) / 8 - 1;
      encoded.push(concat(new Uint8Array([next, length]), body));
    }
  });
  const rest = concat(...encoded, options.payload);
  return concat(
    new Uint8Array([0x60, 0, 0, 0]),
    u16(rest.length),
    new Uint8Array([extensions[0]?.type ?? options.nextHeader, 64]),
    ipv6Bytes(options.src),
    ipv6Bytes(options.dst),
    rest,
  );
}

/** IPv6 fragment header body: offset (bytes, multiple of 8), M flag, identification. */
export function fragmentBody(offset: number, more: boolean): Uint8Array {
  return concat(u16((offset & 0xfff8) | (more ? 1 : 0)), u32(0xabcd));
}

/** UDP header and payload. */
export function udp(
  srcPort: number,
  dstPort: number,
  payload: Uint8Array = new Uint8Array(),
): Uint8Array {
  return concat(u16(srcPort), u16(dstPort), u16(8 + payload.length), u16(0), payload);
}

/** TCP header (no options unless given) and payload. */
export function tcp(options: {
  srcPort: number;
  dstPort: number;
  flags: number;
  payload?: Uint8Array;
  options?: Uint8Array;
}): Uint8Array {
  const tcpOptions = options.options ?? new Uint8Array();
  const headerLength = 20 + tcpOptions.length;
  return concat(
    u16(options.srcPort),
    u16(options.dstPort),
    u32(1000),
    u32(0),
    new Uint8Array([(headerLength / 4) << 4 | ((options.flags >> 8) & 1), options.flags & 0xff]),
    u16(65535),
    u16(0),
    u16(0),
    tcpOptions,
    options.payload ?? new Uint8Array(),
  );
}

/** ICMP or ICMPv6 message: type, code, checksum, then the rest. */
export function icmp(type: number, code: number, rest: Uint8Array = new Uint8Array(4)): Uint8Array {
  return concat(new Uint8Array([type, code, 0, 0]), rest);
}

const encoder = new TextEncoder();

/** A name in DNS wire form, optionally ending in a compression pointer instead of the root. */
export function dnsName(name: string, pointerTo?: number): Uint8Array {
  const labels = name === "" ? [] : name.split(".");
  const parts = labels.map((label) => {
    const bytes = encoder.encode(label);
    return concat(new Uint8Array([bytes.length]), bytes);
  });
  parts.push(pointerTo === undefined ? new Uint8Array([0]) : u16(0xc000 | pointerTo));
  return concat(...parts);
}

/** A DNS header: id, flags, and the four section counts. */
export function dnsHeader(options: {
  id?: number;
  response: boolean;
  questions: number;
  answers: number;
  authority?: number;
  additional?: number;
}): Uint8Array {
  return concat(
    u16(options.id ?? 0x4242),
    u16(options.response ? 0x8180 : 0x0100),
    u16(options.questions),
    u16(options.answers),
    u16(options.authority ?? 0),
    u16(options.additional ?? 0),
  );
}

/** A DNS query for one name (type A, class IN). */
export function dnsQuery(name: string, type = 1): Uint8Array {
  return concat(
    dnsHeader({ response: false, questions: 1, answers: 0 }),
    dnsName(name),
    u16(type),
    u16(1),
  );
}

/** A resource record whose owner is given in wire form. */
export function dnsRecord(owner: Uint8Array, type: number, rdata: Uint8Array): Uint8Array {
  return concat(owner, u16(type), u16(1), u32(300), u16(rdata.length), rdata);
}

/**
 * A compressed response: the question for `name`, then a CNAME from it (owner a pointer to the
 * question name at offset 12) to `target`, then an A record for the target (owner a pointer).
 */
export function dnsCnameResponse(name: string, target: string, address: string): Uint8Array {
  const header = dnsHeader({ response: true, questions: 1, answers: 2 });
  const question = concat(dnsName(name), u16(1), u16(1));
  const cnameOwner = u16(0xc000 | 12);
  // The CNAME's data starts after header, question, owner pointer and the 10 fixed bytes.
  const targetOffset = header.length + question.length + cnameOwner.length + 10;
  const cname = dnsRecord(cnameOwner, 5, dnsName(target));
  const a = dnsRecord(u16(0xc000 | targetOffset), 1, ipv4Bytes(address));
  return concat(header, question, cname, a);
}

/** A response with one A record whose owner points back at the question. */
export function dnsAResponse(name: string, address: string): Uint8Array {
  return concat(
    dnsHeader({ response: true, questions: 1, answers: 1 }),
    dnsName(name),
    u16(1),
    u16(1),
    dnsRecord(u16(0xc000 | 12), 1, ipv4Bytes(address)),
  );
}

/** Prefixes a DNS message with its 2-byte length, as DNS over TCP sends it. */
export function tcpDns(message: Uint8Array): Uint8Array {
  return concat(u16(message.length), message);
}

/** A QUIC v1 Initial-like long header datagram of `size` bytes. */
export function quicInitial(size = 1200, version = 0x00000001): Uint8Array {
  const packet = new Uint8Array(size);
  packet.set([0xc3, ...u32(version), 8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
  return packet;
}

/** A QUIC short header datagram (fixed bit set) of `size` bytes. */
export function quicShort(size = 60): Uint8Array {
  const packet = new Uint8Array(size);
  packet[0] = 0x43;
  return packet;
}
