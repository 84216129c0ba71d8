/**
 * Which addresses are "this host": decides whether a packet is inbound, outbound or local, and
 * so which of its ports is the local one.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** One network: an address and a prefix length. */
interface Network {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/** Loopback is always local. */
const LOOPBACK = ["127.0.0.0/8", "::1/128"];

/**
 * The default for `pad import`: private, loopback, link-local and shared (CGNAT) ranges, so in a
 * capture of one host behind a router its own side is "local" and the internet is "remote".
 */
export const PRIVATE_NETWORKS = [
  ...LOOPBACK,
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "169.254.0.0/16",
  "fc00::/7",
  "fe80::/10",
];

/**
 * A set of networks; answers "is this address local?". A dotted quad is read into a number and
 * compared with the IPv4 networks as masks (no lookup in a table of every address seen: with
 * thousands of peers, that lookup cost more than decoding the packet); other text goes through
 * `parseAddress`, with a cache, since addresses repeat.
 */
export class LocalNetworks {
  readonly #networks: Network[];
  /** The IPv4 networks as pairs of 32-bit numbers: masked base, mask. */
  readonly #ipv4: Uint32Array;
  readonly #cache = new Map<string, boolean>();
  // The two addresses asked last (a conversation's two ends), answered before the map.
  #recent = "";
  #recentLocal = false;
  #previous = "";
  #previousLocal = false;

  /**
   * `cidrs` like `192.168.1.0/24`, `2001:db8::/32` or a bare address; loopback is added unless
   * `withLoopback` is false (a list of remote networks to ignore).
   */
  constructor(cidrs: readonly string[], withLoopback = true) {
    this.#networks = [...(withLoopback ? LOOPBACK : []), ...cidrs].map(parseNetwork);
    const ipv4 = this.#networks.filter((n) => n.family === 4);
    this.#ipv4 = new Uint32Array(ipv4.length * 2);
    ipv4.forEach((n, i) => {
      const mask = n.prefix === 0 ? 0 : (0xffffffff << (32 - n.prefix)) >>> 0;
      this.#ipv4[2 * i] = (ipv4Number(n.bytes) & mask) >>> 0;
      this.#ipv4[2 * i + 1] = mask;
    });
  }

  /** The addresses of this machine's interfaces, plus loopback. */
  static ofThisHost(): LocalNetworks {
    return new LocalNetworks(Deno.networkInterfaces().map((i) => i.address.split("%")[0]!));
  }

  /** Whether `address` (as the decoder writes it) is in one of the networks. */
  has(address: string): boolean {
    if (address === this.#recent) return this.#recentLocal;
    if (address === this.#previous) return this.#previousLocal;
    const quad = readDottedQuad(address);
    let local = quad < 0 ? this.#cache.get(address) : this.#hasIpv4(quad);
    if (local === undefined) {
      const bytes = parseAddress(address);
      local = bytes !== null && this.#networks.some((n) => contains(n, bytes));
      if (this.#cache.size > 100_000) this.#cache.clear(); // spoofed floods must not grow it forever
      this.#cache.set(address, local);
    }
    this.#previous = this.#recent;
    this.#previousLocal = this.#recentLocal;
    this.#recent = address;
    this.#recentLocal = local;
    return local;
  }

  #hasIpv4(address: number): boolean {
    const networks = this.#ipv4;
    for (let i = 0; i < networks.length; i += 2) {
      if (((address & networks[i + 1]!) >>> 0) === networks[i]) return true;
    }
    return false;
  }
}

function ipv4Number(bytes: Uint8Array): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * The address in `text` as a 32-bit number when it is a dotted quad `parseAddress` accepts
 * (four numbers of 1–3 digits up to 255), else -1; reads the characters without making strings.
 */
function readDottedQuad(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let address = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= length; i++) {
    const code = i === length ? DOT : text.charCodeAt(i);
    if (code === DOT) {
      if (digits === 0 || part > 255) return -1;
      address = address * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (code >= DIGIT_0 && code <= DIGIT_9 && digits < 3) {
      part = part * 10 + code - DIGIT_0;
      digits++;
    } else {
      return -1;
    }
  }
  return parts === 4 ? address : -1;
}

/** Parses `ADDRESS[/PREFIX]`; a usage error names what was wrong. */
export function parseNetwork(text: string): Network {
  const [address, prefixText, ...extra] = text.split("/");
  const bytes = parseAddress(address ?? "");
  const max = bytes?.length === 4 ? 32 : 128;
  const prefix = prefixText === undefined
    ? max
    : /^\d{1,3}$/.test(prefixText)
    ? Number(prefixText)
    : -1;
  if (bytes === null || prefix < 0 || prefix > max || extra.length > 0) {
    throw new UsageError(
      `Invalid network "${text}": use an address or CIDR such as 192.168.1.0/24 or 2001:db8::/32`,
    );
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

function contains(network: Network, bytes: Uint8Array): boolean {
  if (bytes.length !== network.bytes.length) {
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) belongs to IPv4 networks too.
    if (network.family === 4 && bytes.length === 16 && isMapped(bytes)) {
      return contains(network, bytes.subarray(12));
    }
    return false;
  }
  let bits = network.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (network.bytes[i]! & mask)) return false;
  }
  return true;
}

function isMapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Bytes of an IPv4 or IPv6 address in text, or null when it is neither. */
export function parseAddress(text: string): Uint8Array | null {
  if (text.includes(":")) return parseIpv6(text);
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]!) || Number(parts[i]) > 255) return null;
    bytes[i] = Number(parts[i]);
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | null {
  // A trailing dotted quad (::ffff:192.0.2.1) becomes two hex groups first.
  const lastColon = text.lastIndexOf(":");
  const quad = text.slice(lastColon + 1);
  if (quad.includes(".")) {
    const v4 = parseAddress(quad);
    if (!v4) return null;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const words = [...head, ...Array(8 - given).fill("0"), ...tail];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(words[i]!)) return null;
    const word = parseInt(words[i]!, 16);
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  }
  return bytes;
}
