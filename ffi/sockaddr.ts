/**
 * Reads the `struct sockaddr` values that `pcap_findalldevs` hands out.
 *
 * @module
 */

/** One interface address as text, e.g. `{ family: 4, address: "127.0.0.1" }`. */
export interface SocketAddress {
  family: 4 | 6;
  address: string;
}

// Linux: `sa_family_t sa_family` is a u16 at offset 0. The BSDs and macOS put `u8 sa_len` at 0 and
// `u8 sa_family` at 1. AF_INET is 2 everywhere; AF_INET6 differs per kernel.
const BSD_LAYOUT = Deno.build.os === "darwin" || Deno.build.os === "freebsd" ||
  Deno.build.os === "netbsd";
const AF_INET = 2;
const AF_INET6 = Deno.build.os === "darwin"
  ? 30
  : Deno.build.os === "freebsd"
  ? 28
  : Deno.build.os === "netbsd"
  ? 24
  : 10;
// struct sockaddr_in: family(2) port(2) then `struct in_addr sin_addr` at 4.
const SIN_ADDR_OFFSET = 4;
// struct sockaddr_in6: family(2) port(2) flowinfo(4) then `struct in6_addr sin6_addr` at 8.
const SIN6_ADDR_OFFSET = 8;

/** Reads a `struct sockaddr *`; `null` for a null pointer or a family other than IPv4/IPv6. */
export function readSocketAddress(pointer: Deno.PointerValue): SocketAddress | null {
  if (pointer === null) return null;
  const view = new Deno.UnsafePointerView(pointer);
  const family = BSD_LAYOUT ? view.getUint8(1) : view.getUint16(0);
  if (family === AF_INET) {
    const bytes = new Uint8Array(4);
    view.copyInto(bytes, SIN_ADDR_OFFSET);
    return { family: 4, address: bytes.join(".") };
  }
  if (family === AF_INET6) {
    const bytes = new Uint8Array(16);
    view.copyInto(bytes, SIN6_ADDR_OFFSET);
    return { family: 6, address: formatIpv6(bytes) };
  }
  return null;
}

/** RFC 5952 text for 16 address bytes: lower-case hex, the longest run of zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
