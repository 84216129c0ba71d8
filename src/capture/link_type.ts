/**
 * The link-layer types the decoder reads, by their libpcap numbers.
 *
 * @module
 */

/**
 * Link types: libpcap reports a DLT_ value for live handles and maps a file's LINKTYPE_ value to
 * it, so both numberings of raw IP appear (12 is DLT_RAW, 14 is DLT_RAW on OpenBSD, 101 is
 * LINKTYPE_RAW).
 */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 12,
  RAW_OPENBSD: 14,
  RAW_LINKTYPE: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const NAMES: Record<number, string> = {
  [LinkType.NULL]: "BSD loopback (null)",
  [LinkType.ETHERNET]: "Ethernet",
  [LinkType.RAW]: "raw IP",
  [LinkType.RAW_OPENBSD]: "raw IP",
  [LinkType.RAW_LINKTYPE]: "raw IP",
  [LinkType.LOOP]: "OpenBSD loopback",
  [LinkType.LINUX_SLL]: "Linux cooked (SLL)",
  [LinkType.IPV4]: "raw IPv4",
  [LinkType.IPV6]: "raw IPv6",
  [LinkType.LINUX_SLL2]: "Linux cooked v2 (SLL2)",
};

/** A readable name for a link type, e.g. `linkTypeName(113)` is "Linux cooked (SLL)". */
export function linkTypeName(linkType: number): string {
  return NAMES[linkType] ?? `link type ${linkType}`;
}

/** True when `decodeFrame` understands frames of this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  return linkType in NAMES;
}
