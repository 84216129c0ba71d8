/**
 * IP addresses as text, read straight from packet bytes.
 *
 * @module
 */

/**
 * Slots of each cache of address texts (a power of two): about 0.6 MiB of tables for both
 * families, made on first use (the main thread of `pad collect` imports this module for its
 * procfs probe but decodes nothing).
 */
const CACHE_SLOTS = 16_384;
const CACHE_SHIFT = 32 - Math.log2(CACHE_SLOTS);
let v4Keys: Int32Array | null = null;
let v4Texts: (string | undefined)[] = [];
let v6Keys: Int32Array | null = null;
let v6Texts: (string | undefined)[] = [];

/**
 * `formatIpv4`, remembered: the same address gives the same string object, so what hashes it
 * next (sets of peers, the local-network lookup) finds its hash already computed. A direct-mapped
 * cache: a flood from a million addresses only misses, at the cost of a formatted text.
 */
export function ipv4Text(bytes: Uint8Array, offset: number): string {
  const key = (bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!;
  const slot = Math.imul(key, 0x9e3779b1) >>> CACHE_SHIFT;
  if (v4Keys === null) {
    v4Keys = new Int32Array(CACHE_SLOTS);
    v4Texts = new Array(CACHE_SLOTS).fill(undefined);
  }
  const cached = v4Texts[slot];
  if (cached !== undefined && v4Keys[slot] === key) return cached;
  const text = formatIpv4(bytes, offset);
  v4Keys[slot] = key;
  v4Texts[slot] = text;
  return text;
}

/** `formatIpv6`, remembered like {@linkcode ipv4Text}. */
export function ipv6Text(bytes: Uint8Array, offset: number): string {
  const a = word(bytes, offset);
  const b = word(bytes, offset + 4);
  const c = word(bytes, offset + 8);
  const d = word(bytes, offset + 12);
  const mixed = a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35) ^ Math.imul(d, 0x27d4eb2f);
  const slot = Math.imul(mixed, 0x9e3779b1) >>> CACHE_SHIFT;
  if (v6Keys === null) {
    v6Keys = new Int32Array(CACHE_SLOTS * 4);
    v6Texts = new Array(CACHE_SLOTS).fill(undefined);
  }
  const cached = v6Texts[slot];
  const at = slot * 4;
  if (
    cached !== undefined && v6Keys[at] === a && v6Keys[at + 1] === b && v6Keys[at + 2] === c &&
    v6Keys[at + 3] === d
  ) {
    return cached;
  }
  const text = formatIpv6(bytes, offset);
  v6Keys[at] = a;
  v6Keys[at + 1] = b;
  v6Keys[at + 2] = c;
  v6Keys[at + 3] = d;
  v6Texts[slot] = text;
  return text;
}

function word(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!;
}

/** Dotted-quad text for the 4 bytes at `offset` (the caller checks bounds). */
export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

const groups = new Uint16Array(8);

/**
 * RFC 5952 text for the 16 bytes at `offset` (the caller checks bounds): lower-case hex without
 * leading zeros, the longest run of two or more zero groups (the first on a tie) as `::`, and
 * IPv4-mapped addresses as `::ffff:192.0.2.1`.
 */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  let bestStart = -1;
  let bestLength = 1; // RFC 5952 4.2.2: a single zero group is not shortened
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    const group = (bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!;
    groups[i] = group;
    if (group === 0) {
      if (runStart < 0) runStart = i;
      if (i - runStart + 1 > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart + 1;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestStart === 0 && bestLength === 5 && groups[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i += bestLength - 1;
      continue;
    }
    if (text !== "" && !text.endsWith(":")) text += ":";
    text += groups[i]!.toString(16);
  }
  return text;
}
