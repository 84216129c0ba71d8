/**
 * Recognises QUIC (RFC 9000 / 9369) in a single UDP datagram, without connection state.
 *
 * @module
 */

const QUIC_PORT = 443;
const LONG_HEADER = 0x80;
const FIXED_BIT = 0x40;
/** RFC 9000 17.2: connection IDs in version 1 long headers are at most 20 bytes. */
const MAX_CID_LENGTH = 20;
/** A short header packet carries at least 1 + 4 + 16 bytes (header protection sample). */
const MIN_SHORT_PACKET = 21;

/**
 * True when the UDP payload is QUIC by this rule: a long header (form and fixed bits set) with
 * a known version (v1 0x00000001, v2 0x6b3343cf, IETF drafts 0xff0000xx, Google's Q0xx/T0xx) and
 * sane connection ID lengths, on any port; or, with 443 as either port, a version negotiation
 * packet (long form, version 0) or a short header (form bit clear, fixed bit set, ≥ 21 bytes).
 * Short headers elsewhere are left out: one datagram cannot tell them from other protocols.
 */
export function isQuic(payload: Uint8Array, srcPort: number, dstPort: number): boolean {
  return isQuicAt(payload, 0, payload.length, srcPort, dstPort);
}

/** `isQuic` of the payload `bytes[start, end)`, without making a view of it. */
export function isQuicAt(
  bytes: Uint8Array,
  start: number,
  end: number,
  srcPort: number,
  dstPort: number,
): boolean {
  const length = end - start;
  if (length <= 0) return false;
  const first = bytes[start]!;
  const on443 = srcPort === QUIC_PORT || dstPort === QUIC_PORT;
  if ((first & LONG_HEADER) === 0) {
    return on443 && (first & FIXED_BIT) !== 0 && length >= MIN_SHORT_PACKET;
  }
  if (length < 7) return false;
  const version = ((bytes[start + 1]! << 24) | (bytes[start + 2]! << 16) |
    (bytes[start + 3]! << 8) | bytes[start + 4]!) >>> 0;
  const destinationLength = bytes[start + 5]!;
  if (destinationLength > MAX_CID_LENGTH) return false;
  const sourceAt = 6 + destinationLength;
  if (sourceAt >= length || bytes[start + sourceAt]! > MAX_CID_LENGTH) return false;
  if (version === 0) return on443; // version negotiation: the fixed bit is unused
  return (first & FIXED_BIT) !== 0 && isKnownVersion(version);
}

function isKnownVersion(version: number): boolean {
  return version === 0x00000001 || // QUIC v1, RFC 9000
    version === 0x6b3343cf || // QUIC v2, RFC 9369
    (version >>> 8) === 0xff0000 || // IETF drafts 0xff0000xx
    (version >>> 16) === 0x5130 || // Google QUIC "Q0xx"
    (version >>> 16) === 0x5430; // Google QUIC over TLS "T0xx"
}
