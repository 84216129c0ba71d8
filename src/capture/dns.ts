/**
 * Just enough DNS (RFC 1035) to name what a message asks and answers, safe on hostile input.
 *
 * @module
 */

/** What pad keeps of one DNS message. */
export interface DnsSummary {
  /** The QR bit: true for a response. */
  response: boolean;
  /** The first question's name, or null when there is none or it cannot be read. */
  queryName: string | null;
  /**
   * For a response, the first answer's name: the target name in its data for CNAME, PTR, NS and
   * DNAME records (where the answer *is* a name), otherwise the record's owner name. Null for
   * queries, responses without answers, and answers that cannot be read.
   */
  responseName: string | null;
}

/** A name and the offset just past it in the message (past the first pointer, if any). */
export interface DnsName {
  name: string;
  end: number;
}

const HEADER_SIZE = 12;
const QR_BIT = 0x8000;
// A question is a name then QTYPE and QCLASS; a resource record is a name then TYPE, CLASS, TTL
// and RDLENGTH before RDATA.
const QUESTION_FIXED_SIZE = 4;
const RECORD_FIXED_SIZE = 10;
const TYPE_NS = 2;
const TYPE_CNAME = 5;
const TYPE_PTR = 12;
const TYPE_DNAME = 39;
/** RFC 1035 2.3.4: a name is at most 255 bytes in wire form, a label at most 63. */
const MAX_NAME_WIRE_LENGTH = 255;
/** Compression pointers followed per name; each must also point before the text read so far. */
const MAX_POINTERS = 64;

/**
 * Reads the summary of a DNS message (without the TCP length prefix). Returns null when the
 * message is shorter than a DNS header; names that are truncated or invalid come back as null.
 */
export function parseDns(message: Uint8Array): DnsSummary | null {
  if (message.length < HEADER_SIZE) return null;
  const response = (u16(message, 2) & QR_BIT) !== 0;
  const questions = u16(message, 4);
  const answers = u16(message, 6);
  let queryName: string | null = null;
  let offset = HEADER_SIZE;
  // Every question takes at least 5 bytes, so this loop ends with the message however large the
  // count claims to be.
  for (let i = 0; i < questions; i++) {
    const question = readName(message, offset);
    if (question === null) return { response, queryName, responseName: null };
    if (i === 0) queryName = question.name;
    offset = question.end + QUESTION_FIXED_SIZE;
    if (offset > message.length) return { response, queryName, responseName: null };
  }
  if (!response || answers === 0) return { response, queryName, responseName: null };
  return { response, queryName, responseName: readAnswerName(message, offset) };
}

function readAnswerName(message: Uint8Array, offset: number): string | null {
  const owner = readName(message, offset);
  if (owner === null) return null;
  const fixed = owner.end;
  if (fixed + RECORD_FIXED_SIZE > message.length) return null;
  const type = u16(message, fixed);
  if (type !== TYPE_CNAME && type !== TYPE_PTR && type !== TYPE_NS && type !== TYPE_DNAME) {
    return owner.name;
  }
  const dataStart = fixed + RECORD_FIXED_SIZE;
  const dataEnd = dataStart + u16(message, fixed + 8);
  if (dataEnd > message.length) return null;
  const target = readName(message, dataStart);
  return target !== null && target.end <= dataEnd ? target.name : null;
}

/**
 * Reads the (possibly compressed) name at `offset`: labels joined by "." without a trailing dot,
 * "." for the root, bytes outside printable ASCII and "." or "\" inside a label escaped as
 * `\DDD` or `\.` like dig prints them. Returns null for a truncated name, a label type other
 * than plain or pointer, a name over 255 bytes, more than 64 pointers, or a pointer that does not
 * point before the part of the name it was reached from (which rules out every loop).
 */
export function readName(message: Uint8Array, offset: number): DnsName | null {
  let position = offset;
  let segmentStart = offset;
  let end = -1;
  let pointers = 0;
  let wireLength = 1; // the root label's length byte
  let name = "";
  for (;;) {
    if (position >= message.length) return null;
    const length = message[position]!;
    if (length === 0) {
      if (end < 0) end = position + 1;
      return { name: name === "" ? "." : name, end };
    }
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (position + 1 >= message.length) return null;
      const target = ((length & 0x3f) << 8) | message[position + 1]!;
      if (target >= segmentStart || ++pointers > MAX_POINTERS) return null;
      if (end < 0) end = position + 2;
      position = segmentStart = target;
      continue;
    }
    // 0x40 and 0x80 are the extended and reserved label types (RFC 6891): not names pad reads.
    if (kind !== 0) return null;
    const labelEnd = position + 1 + length;
    if (labelEnd > message.length) return null;
    wireLength += length + 1;
    if (wireLength > MAX_NAME_WIRE_LENGTH) return null;
    if (name !== "") name += ".";
    name += labelText(message, position + 1, labelEnd);
    position = labelEnd;
  }
}

function labelText(message: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i++) {
    const byte = message[i]!;
    if (byte > 0x20 && byte < 0x7f) {
      text += byte === 0x2e || byte === 0x5c
        ? `\\${String.fromCharCode(byte)}`
        : String.fromCharCode(byte);
    } else {
      text += `\\${byte.toString().padStart(3, "0")}`;
    }
  }
  return text;
}

function u16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}
