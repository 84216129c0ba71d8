/**
 * Reads classic pcap and pcapng files in TypeScript: the file is read in large chunks and each
 * frame is handed out as a view into its chunk, with no libpcap call and no copy per packet.
 *
 * Each record comes out as libpcap's `pcap_next_ex` gives it for the same file opened with
 * `pcap_open_offline`: microsecond timestamps (nanosecond and other pcapng resolutions scaled the
 * way libpcap scales them), link types as DLT_ values, captured lengths cut to the snapshot
 * length where libpcap cuts them. tests/pcap_reader_test.ts compares both record by record.
 *
 * `PcapFileReader.open` returns null for what it leaves to libpcap: anything that is not a pcap
 * or pcapng file, or whose header it would reject (libpcap then names the problem), classic
 * files other than version 2.4 with the standard or nanosecond magic number, and classic files
 * of a link type the decoder does not read. Past the header, a file that ends inside a record
 * and a record whose header makes no sense are told apart by {@linkcode CaptureFileError}.
 *
 * Where it accepts more than libpcap 1.10: pcapng interfaces may differ in link type and
 * snapshot length (libpcap stops at an interface whose link type or snapshot length differs
 * from the first one's), and sections may differ in byte order (libpcap stops there too).
 *
 * @module
 */

import { readsLinkType } from "./decode.ts";

/** Why reading stopped before the end of a capture file. */
export class CaptureFileError extends Error {
  override name = "CaptureFileError";
  /** "truncated": the file ends inside a record; "corrupt": a record's header makes no sense. */
  readonly kind: "truncated" | "corrupt";

  /** `message` says what was wrong, in libpcap's words where it has them. */
  constructor(message: string, kind: "truncated" | "corrupt", options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

/** Bytes read from the file at a time (more when one record is larger). */
const CHUNK_SIZE = 256 * 1024;

// Classic pcap (pcap-savefile(5)): a 24-byte file header, then 16-byte record headers
// (ts_sec, ts_usec or ts_nsec, caplen, len), each field in the byte order of the magic number.
const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
/** LT_LINKTYPE(): the upper 6 bits of the file's link type hold FCS information. */
const PCAP_LINKTYPE_MASK = 0x03ffffff;

// pcapng (draft-ietf-opsawg-pcapng): blocks of type(4) total length(4) body total length(4).
const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_PB = 0x00000002; // obsolete Packet Block, still read by libpcap
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_OVERHEAD = 12;
/** libpcap refuses a first Section Header Block longer than this (BT_SHB_INSANE_MAX). */
const SHB_MAX_LENGTH = 1 << 20;
/** The smallest Section Header Block: overhead, byte-order magic, versions, section length. */
const SHB_MIN_LENGTH = BLOCK_OVERHEAD + 16;
/** libpcap's largest block (INITIAL_MAX_BLOCKSIZE; no link type it knows raises it). */
const MAX_BLOCK_LENGTH = 16 * 1024 * 1024;
// An Enhanced Packet Block starts with interface id, stamp (2 × 4 bytes), caplen and len; the
// obsolete Packet Block has the same 20 bytes with a 16-bit interface id and drop count.
const EPB_FIXED = 20;
const SPB_FIXED = 4;
const IDB_FIXED = 8;
const OPT_ENDOFOPT = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const DEFAULT_TSRESOL = 1_000_000;

/** libpcap's MAXIMUM_SNAPLEN, and the link types it allows longer records for. */
const MAXIMUM_SNAPLEN = 262_144;
const BIG_SNAPLENS: Record<number, number> = {
  231: 128 * 1024 * 1024, // DLT_DBUS
  279: 8 * 1024 * 1024, // DLT_EBHSCR
  249: 1024 * 1024, // DLT_USBPCAP
};
/** LINKTYPE_RAW is stored as 101 and reported as DLT_RAW, 12 on Linux (linktype_to_dlt()). */
const LINKTYPE_RAW = 101;
const DLT_RAW = 12;

const TWO_32 = 2 ** 32;

function maxSnaplen(dlt: number): number {
  return BIG_SNAPLENS[dlt] ?? MAXIMUM_SNAPLEN;
}

/** pcap_adjust_snapshot(): 0 or too large means the link type's maximum. */
function adjustSnapshot(dlt: number, snaplen: number): number {
  const max = maxSnaplen(dlt);
  return snaplen === 0 || snaplen > max ? max : snaplen;
}

function linkTypeToDlt(linkType: number): number {
  return linkType === LINKTYPE_RAW ? DLT_RAW : linkType;
}

/**
 * One pcapng interface: its link type, snapshot length, and what libpcap needs to turn a 64-bit
 * stamp in its units into seconds and microseconds.
 */
interface Interface {
  dlt: number;
  snapshot: number;
  /** Units per second (`if_tsresol`), as a number when it fits one exactly. */
  resolution: number;
  resolutionBig: bigint;
  binary: boolean;
  /** `if_tsoffset`, seconds added to every stamp. */
  tsOffset: number;
  tsOffsetBig: bigint;
  /** Exact in doubles: the resolution and scaled fractions stay below 2^53. */
  fast: boolean;
  /** Cache: the stamp's upper 32 bits last seen, and that value × 2^32 in seconds + units. */
  high: number;
  highSeconds: number;
  highUnits: number;
}

/**
 * Reads one capture file record by record; `next()` fills `linkType`, `tsSec`, `tsUsec`,
 * `caplen`, `wireLength`, and `bytes` with `offset`: the frame is `bytes[offset, offset +
 * caplen)`, in a buffer the next reads write over: it is valid until `next()` is called again
 * (keep a `slice()` of what you keep), as libpcap's `pcap_next()` frames are. `data` makes it a
 * view.
 */
export class PcapFileReader implements Disposable {
  /** "pcap" or "pcapng". */
  readonly format: "pcap" | "pcapng";
  /**
   * The current record's link type (a DLT_ value; per interface in pcapng); before the first
   * record, the file's (its first interface's).
   */
  linkType = 0;
  /** The current record's time stamp: seconds, and microseconds within the second. */
  tsSec = 0;
  tsUsec = 0;
  /** Bytes captured. */
  caplen = 0;
  /** Bytes on the wire. */
  wireLength = 0;
  /** The buffer that holds the current frame, and where in it the frame starts. */
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;

  #file: Deno.FsFile | null;
  #buffer: Uint8Array;
  #view: DataView;
  /** Offset in `#buffer` of the next unread byte, and end of the bytes read into it. */
  #at = 0;
  #end = 0;
  #eof = false;
  // Classic pcap.
  #little = true;
  #nano = false;
  #snapshot = 0;
  #dlt = 0;
  // pcapng: the current section's interfaces.
  #interfaces: Interface[] = [];

  private constructor(file: Deno.FsFile, format: "pcap" | "pcapng") {
    this.#file = file;
    this.format = format;
    this.#buffer = new Uint8Array(CHUNK_SIZE);
    this.#view = new DataView(this.#buffer.buffer);
  }

  /**
   * Opens `path` if this reader handles its format (see the module comment), else returns null
   * so the caller uses libpcap. Throws only what opening or reading the file throws.
   */
  static open(path: string): PcapFileReader | null {
    const file = Deno.openSync(path, { read: true });
    let keep = false;
    try {
      const head = new Uint8Array(4);
      if (readFully(file, head) < head.length) return null;
      const view = new DataView(head.buffer);
      const magics = [view.getUint32(0, true), view.getUint32(0, false)];
      let format: "pcap" | "pcapng";
      if (magics[0] === BLOCK_SHB) format = "pcapng";
      else if (magics.some((m) => m === PCAP_MAGIC_MICRO || m === PCAP_MAGIC_NANO)) format = "pcap";
      else return null;
      const reader = new PcapFileReader(file, format);
      reader.#buffer.set(head);
      reader.#end = head.length;
      keep = format === "pcap" ? reader.#readPcapHeader() : reader.#readFirstSection();
      return keep ? reader : null;
    } finally {
      if (!keep) file.close();
    }
  }

  /** The current frame's captured bytes, as a view. */
  get data(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.caplen);
  }

  /**
   * Reads the next record into this reader's fields; false at the end of the file. Throws
   * {@linkcode CaptureFileError} for a record cut short or one whose header makes no sense.
   */
  next(): boolean {
    return this.format === "pcap" ? this.#nextPcap() : this.#nextPcapng();
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#file?.close();
    this.#file = null;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ---- classic pcap

  /** Reads the file header; false for what is left to libpcap. */
  #readPcapHeader(): boolean {
    if (this.#fill(PCAP_FILE_HEADER) < PCAP_FILE_HEADER) return false;
    const view = this.#view;
    this.#little = view.getUint32(0, true) === PCAP_MAGIC_MICRO ||
      view.getUint32(0, true) === PCAP_MAGIC_NANO;
    const little = this.#little;
    this.#nano = view.getUint32(0, little) === PCAP_MAGIC_NANO;
    const major = view.getUint16(4, little);
    const minor = view.getUint16(6, little);
    const linkType = view.getUint32(20, little) & PCAP_LINKTYPE_MASK;
    // 2.3 and older may have caplen and len swapped; libpcap has the heuristics for them.
    // Classic files of a link type pad does not decode go to libpcap, which knows every
    // LINKTYPE_-to-DLT_ mapping.
    if (major !== 2 || minor !== 4 || !readsLinkType(linkType)) return false;
    this.#dlt = linkTypeToDlt(linkType);
    this.linkType = this.#dlt;
    this.#snapshot = adjustSnapshot(this.#dlt, view.getUint32(16, little));
    this.#at = PCAP_FILE_HEADER;
    return true;
  }

  #nextPcap(): boolean {
    if (this.#end - this.#at < PCAP_RECORD_HEADER) {
      const have = this.#fill(PCAP_RECORD_HEADER);
      if (have === 0) return false;
      if (have < PCAP_RECORD_HEADER) {
        throw this.#truncated(
          `tried to read ${PCAP_RECORD_HEADER} header bytes, only got ${have}`,
        );
      }
    }
    const at = this.#at;
    const view = this.#view;
    const little = this.#little;
    const seconds = view.getUint32(at, little);
    const fraction = view.getUint32(at + 4, little);
    const caplen = view.getUint32(at + 8, little);
    const wireLength = view.getUint32(at + 12, little);
    if (caplen > MAXIMUM_SNAPLEN) {
      throw this.#corrupt(
        caplen > this.#snapshot
          ? `invalid packet capture length ${caplen}, bigger than snaplen of ${this.#snapshot}`
          : `invalid packet capture length ${caplen}, bigger than maximum of ${MAXIMUM_SNAPLEN}`,
      );
    }
    const size = PCAP_RECORD_HEADER + caplen;
    if (this.#end - at < size) {
      const have = this.#fill(size) - PCAP_RECORD_HEADER;
      if (have < caplen) {
        // libpcap first reads up to the snapshot length, then discards the rest.
        const tried = caplen > this.#snapshot && have < this.#snapshot ? this.#snapshot : caplen;
        throw this.#truncated(
          `tried to read ${tried} captured bytes, only got ${have}`,
        );
      }
    }
    const dataAt = this.#at + PCAP_RECORD_HEADER;
    const kept = caplen > this.#snapshot ? this.#snapshot : caplen;
    this.bytes = this.#buffer;
    this.offset = dataAt;
    this.#at += size;
    this.linkType = this.#dlt;
    this.caplen = kept;
    this.wireLength = wireLength;
    // ts_sec is unsigned, as tshark and libpcap from 1.10.5 read it: a stamp after 2038 is in
    // 2038–2106, not before 1970 (libpcap 1.10.3 sign-extends it; see fileSeconds() in
    // offline.ts). In the host's byte order (little-endian wherever Deno runs) libpcap 1.10
    // divides a negative nanosecond fraction as signed; tests/pcap_reader_test.ts checks both.
    this.tsSec = seconds;
    if (little) {
      this.tsUsec = this.#nano ? Math.trunc((fraction | 0) / 1000) >>> 0 : fraction;
    } else {
      this.tsUsec = this.#nano ? Math.floor(fraction / 1000) : fraction;
    }
    return true;
  }

  // ---- pcapng

  /** Reads the first Section Header Block and the blocks up to the first interface. */
  #readFirstSection(): boolean {
    if (this.#fill(SHB_MIN_LENGTH) < SHB_MIN_LENGTH) return false;
    const little = this.#view.getUint32(8, true) === BYTE_ORDER_MAGIC;
    if (!little && this.#view.getUint32(8, false) !== BYTE_ORDER_MAGIC) return false;
    const length = this.#view.getUint32(4, little);
    if (length < SHB_MIN_LENGTH || length > SHB_MAX_LENGTH) return false;
    const major = this.#view.getUint16(12, little);
    const minor = this.#view.getUint16(14, little);
    if (major !== 1 || (minor !== 0 && minor !== 2)) return false;
    try {
      // libpcap reads up to the first interface while opening: whatever fails there is a
      // header problem, reported by libpcap itself.
      for (;;) {
        const block = this.#readBlock();
        if (block === null) return false;
        if (block.type === BLOCK_IDB) {
          this.#addInterface(block.body, block.bodyEnd, block.little);
          this.linkType = this.#interfaces[0]!.dlt;
          return true;
        }
        if (block.type === BLOCK_EPB || block.type === BLOCK_SPB || block.type === BLOCK_PB) {
          return false;
        }
        if (block.type === BLOCK_SHB) this.#startSection(block);
      }
    } catch (error) {
      if (error instanceof CaptureFileError) return false;
      throw error;
    }
  }

  #nextPcapng(): boolean {
    for (;;) {
      const block = this.#readBlock();
      if (block === null) return false;
      const { body, bodyEnd, little } = block;
      const view = this.#view;
      const room = bodyEnd - body;
      switch (block.type) {
        case BLOCK_EPB:
        case BLOCK_PB: {
          if (room < EPB_FIXED) throw this.#tooShort(block.type);
          const id = block.type === BLOCK_EPB
            ? view.getUint32(body, little)
            : view.getUint16(body, little);
          const high = view.getUint32(body + 4, little);
          const low = view.getUint32(body + 8, little);
          const caplen = view.getUint32(body + 12, little);
          const wireLength = view.getUint32(body + 16, little);
          const iface = this.#interface(id);
          if (caplen > iface.snapshot) {
            throw this.#corrupt(
              `invalid packet capture length ${caplen}, bigger than snaplen of ${iface.snapshot}`,
            );
          }
          if (caplen > room - EPB_FIXED) throw this.#tooShort(block.type);
          this.#setStamp(iface, high, low);
          this.#setRecord(iface.dlt, body + EPB_FIXED, caplen, wireLength);
          return true;
        }
        case BLOCK_SPB: {
          if (room < SPB_FIXED) throw this.#tooShort(block.type);
          const wireLength = view.getUint32(body, little);
          // Simple packets belong to the first interface and carry no time stamp.
          const iface = this.#interface(0);
          const caplen = Math.min(wireLength, iface.snapshot);
          if (caplen > room - SPB_FIXED) throw this.#tooShort(block.type);
          this.#setStamp(iface, 0, 0);
          this.#setRecord(iface.dlt, body + SPB_FIXED, caplen, wireLength);
          return true;
        }
        case BLOCK_IDB:
          this.#addInterface(body, bodyEnd, little);
          break;
        case BLOCK_SHB:
          this.#startSection(block);
          break;
        default:
          break; // name resolution, statistics, custom blocks…: nothing pad reads
      }
    }
  }

  /**
   * Reads the next whole block (null at the end of the file) and checks its lengths. The block
   * stays in the buffer until the next call.
   */
  #readBlock(): Block | null {
    if (this.#end - this.#at < BLOCK_OVERHEAD) {
      const have = this.#fill(BLOCK_OVERHEAD);
      if (have === 0) return null;
      if (have < 8) {
        throw this.#truncated(
          `tried to read 8 bytes, only got ${have}`,
          "pcapng ",
        );
      }
    }
    const at = this.#at;
    const view = this.#view;
    let little = this.#little;
    const type = view.getUint32(at, little);
    if (type === BLOCK_SHB && this.#end - at >= BLOCK_OVERHEAD) {
      // The block type reads the same in both byte orders: the byte-order magic after the
      // length says how to read the length (and the rest of the section).
      const magic = view.getUint32(at + 8, true);
      if (magic === BYTE_ORDER_MAGIC) little = true;
      else if (view.getUint32(at + 8, false) === BYTE_ORDER_MAGIC) little = false;
      else {
        throw this.#corrupt(
          "the file has a section with a bad byte order magic field",
        );
      }
    }
    const length = view.getUint32(at + 4, little);
    if (length < BLOCK_OVERHEAD) {
      throw this.#corrupt(
        `block in pcapng dump file has a length of ${length} < ${BLOCK_OVERHEAD}`,
      );
    }
    if (length % 4 !== 0) {
      throw this.#corrupt(
        `block in pcapng dump file has a length of ${length} that is not a multiple of 4`,
      );
    }
    if (length > MAX_BLOCK_LENGTH) {
      throw this.#corrupt(
        `pcapng block size ${length} > maximum ${MAX_BLOCK_LENGTH}`,
      );
    }
    if (this.#end - at < length) {
      const have = this.#fill(length);
      if (have < length) {
        throw this.#truncated(
          `tried to read ${length - 8} bytes, only got ${Math.max(0, have - 8)}`,
          "pcapng ",
        );
      }
    }
    const start = this.#at;
    const trailer = this.#view.getUint32(start + length - 4, little);
    if (trailer !== length) {
      throw this.#corrupt(
        "block total length in header and trailer don't match",
      );
    }
    this.#at = start + length;
    return {
      type,
      little,
      body: start + 8,
      bodyEnd: start + length - 4,
    };
  }

  #startSection(block: Block): void {
    const room = block.bodyEnd - block.body;
    if (room < 16) throw this.#tooShort(BLOCK_SHB);
    const major = this.#view.getUint16(block.body + 4, block.little);
    if (major !== 1) {
      throw this.#corrupt(`unknown pcapng savefile major version number ${major}`);
    }
    this.#little = block.little;
    this.#interfaces = []; // each section has its own interfaces
  }

  #addInterface(body: number, bodyEnd: number, little: boolean): void {
    if (bodyEnd - body < IDB_FIXED) throw this.#tooShort(BLOCK_IDB);
    const view = this.#view;
    const dlt = linkTypeToDlt(view.getUint16(body, little));
    const snapshot = adjustSnapshot(dlt, view.getUint32(body + 4, little));
    let resolution = BigInt(DEFAULT_TSRESOL);
    let binary = false;
    let offsetSeconds = 0n;
    let sawResolution = false;
    let sawOffset = false;
    const idb = (text: string) => this.#corrupt(`Interface Description Block ${text}`);
    for (let at = body + IDB_FIXED; at < bodyEnd;) {
      if (bodyEnd - at < 4) throw this.#tooShort(BLOCK_IDB);
      const code = view.getUint16(at, little);
      const length = view.getUint16(at + 2, little);
      const padded = Math.ceil(length / 4) * 4;
      if (bodyEnd - at - 4 < padded) throw this.#tooShort(BLOCK_IDB);
      const value = at + 4;
      at = value + padded;
      if (code === OPT_ENDOFOPT) {
        if (length !== 0) throw idb(`has opt_endofopt option with length ${length} != 0`);
        break;
      } else if (code === IF_TSRESOL) {
        if (length !== 1) throw idb(`has if_tsresol option with length ${length} != 1`);
        if (sawResolution) throw idb("has more than one if_tsresol option");
        sawResolution = true;
        const byte = view.getUint8(value);
        binary = (byte & 0x80) !== 0;
        const exponent = byte & 0x7f;
        if (binary && exponent > 63) {
          throw idb(`if_tsresol option resolution 2^-${exponent} is too high`);
        }
        if (!binary && byte > 19) {
          throw idb(`if_tsresol option resolution 10^-${byte} is too high`);
        }
        resolution = binary ? 1n << BigInt(exponent) : 10n ** BigInt(byte);
      } else if (code === IF_TSOFFSET) {
        if (length !== 8) throw idb(`has if_tsoffset option with length ${length} != 8`);
        if (sawOffset) throw idb("has more than one if_tsoffset option");
        sawOffset = true;
        offsetSeconds = view.getBigInt64(value, little);
      }
    }
    // Doubles are exact for these; anything else takes the BigInt path.
    const exact = (binary ? resolution <= 2n ** 32n : resolution <= 10n ** 9n) &&
      offsetSeconds >= 0n && offsetSeconds < 2n ** 52n;
    this.#interfaces.push({
      dlt,
      snapshot,
      resolution: Number(resolution),
      resolutionBig: resolution,
      binary,
      tsOffset: Number(offsetSeconds),
      tsOffsetBig: offsetSeconds,
      fast: exact,
      high: -1,
      highSeconds: 0,
      highUnits: 0,
    });
  }

  #interface(id: number): Interface {
    const iface = this.#interfaces[id];
    if (iface === undefined) {
      throw this.#corrupt(
        `a packet arrived on interface ${id}, but there's no Interface Description Block for ` +
          "that interface",
      );
    }
    return iface;
  }

  /**
   * Sets `tsSec` and `tsUsec` from a 64-bit stamp as libpcap's pcap_ng_next_packet does:
   * seconds = stamp / resolution + offset, fraction scaled to microseconds in unsigned 64-bit
   * arithmetic (a product that overflows wraps there, and does here too).
   */
  #setStamp(iface: Interface, high: number, low: number): void {
    if (!iface.fast) {
      this.#setStampBig(iface, high, low);
      return;
    }
    const resolution = iface.resolution;
    if (high !== iface.high) {
      // high × 2^32 needs more than 53 bits: split it once per value of `high` with BigInt.
      const units = BigInt(high) << 32n;
      iface.highSeconds = Number(units / iface.resolutionBig);
      iface.highUnits = Number(units % iface.resolutionBig);
      iface.high = high;
    }
    if (iface.highSeconds + iface.tsOffset >= 2 ** 52) {
      this.#setStampBig(iface, high, low);
      return;
    }
    // Below 2^33: exact, and so are the quotient and the remainder.
    const units = iface.highUnits + low;
    let seconds = Math.floor(units / resolution);
    let fraction = units - seconds * resolution;
    if (fraction < 0) {
      seconds--;
      fraction += resolution;
    } else if (fraction >= resolution) {
      seconds++;
      fraction -= resolution;
    }
    let usec: number;
    if (resolution === DEFAULT_TSRESOL) usec = fraction;
    else if (!iface.binary && resolution < DEFAULT_TSRESOL) {
      usec = fraction * (DEFAULT_TSRESOL / resolution);
    } else if (!iface.binary) usec = Math.floor(fraction / (resolution / DEFAULT_TSRESOL));
    // fraction < 2^32, so fraction × 10^6 < 2^52: exact.
    else usec = Math.floor((fraction * DEFAULT_TSRESOL) / resolution);
    this.tsSec = iface.highSeconds + seconds + iface.tsOffset;
    this.tsUsec = usec;
  }

  /** The same in BigInt, for resolutions or offsets beyond what doubles hold exactly. */
  #setStampBig(iface: Interface, high: number, low: number): void {
    const u64 = (value: bigint) => BigInt.asUintN(64, value);
    const stamp = (BigInt(high) << 32n) | BigInt(low);
    const resolution = iface.resolutionBig;
    const micro = BigInt(DEFAULT_TSRESOL);
    const seconds = u64(stamp / resolution + iface.tsOffsetBig);
    let fraction = stamp % resolution;
    if (resolution === micro) {
      // as it is
    } else if (!iface.binary && resolution < micro) fraction = u64(fraction * (micro / resolution));
    else if (!iface.binary) fraction = fraction / (resolution / micro);
    else fraction = u64(fraction * micro) / resolution;
    // pcap_pkthdr: tv_sec is a time_t (signed 64-bit) and tv_usec an int; Pcap.next() reads
    // the time_t's two halves and the low 32 bits of tv_usec.
    this.tsSec = Number(BigInt.asIntN(32, seconds >> 32n)) * TWO_32 +
      Number(seconds & 0xffffffffn);
    this.tsUsec = Number(BigInt.asUintN(32, fraction));
  }

  #setRecord(dlt: number, dataAt: number, caplen: number, wireLength: number): void {
    this.linkType = dlt;
    this.caplen = caplen;
    this.wireLength = wireLength;
    this.bytes = this.#buffer;
    this.offset = dataAt;
  }

  #tooShort(type: number): CaptureFileError {
    return this.#corrupt(`block of type ${type} in pcapng dump file is too short`);
  }

  // ---- buffering

  /**
   * Makes at least `size` bytes from `#at` available: moves what is left to the start of the
   * buffer and reads more of the file after it. Reusing one buffer matters: a new 256 KiB chunk
   * per fill cost an import of 1M small frames 12% of its time (fresh pages faulted in, and the
   * garbage collector's work). Returns how many bytes from `#at` are available, fewer than
   * `size` only at the end of the file.
   */
  #fill(size: number): number {
    let available = this.#end - this.#at;
    if (available >= size || this.#eof) return available;
    let buffer = this.#buffer;
    if (buffer.length >= size) {
      buffer.copyWithin(0, this.#at, this.#end);
    } else {
      buffer = new Uint8Array(Math.max(CHUNK_SIZE, size));
      buffer.set(this.#buffer.subarray(this.#at, this.#end));
      this.#buffer = buffer;
      this.#view = new DataView(buffer.buffer);
    }
    this.#at = 0;
    this.#end = available;
    const file = this.#file;
    if (file === null) throw new Error("The capture file is closed");
    while (this.#end < buffer.length) {
      const read = file.readSync(buffer.subarray(this.#end));
      if (read === null) {
        this.#eof = true;
        break;
      }
      this.#end += read;
    }
    available = this.#end;
    return available;
  }

  #truncated(detail: string, kind = ""): CaptureFileError {
    return new CaptureFileError(`truncated ${kind}dump file; ${detail}`, "truncated");
  }

  #corrupt(message: string): CaptureFileError {
    return new CaptureFileError(message, "corrupt");
  }
}

/** One pcapng block in the buffer: offsets of its body, and the byte order of its section. */
interface Block {
  type: number;
  little: boolean;
  body: number;
  bodyEnd: number;
}

function readFully(file: Deno.FsFile, into: Uint8Array): number {
  let filled = 0;
  while (filled < into.length) {
    const read = file.readSync(into.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}
