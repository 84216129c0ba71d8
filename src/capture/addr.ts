/**
 * IP addresses as text, read straight from packet bytes.
 *
 * @module
 */

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
