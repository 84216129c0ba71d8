/**
 * Reads a pcap or pcapng file and decodes every frame: through {@linkcode PcapFileReader}
 * (TypeScript, no call into libpcap per packet) when it reads the file, else through libpcap,
 * which also applies BPF filters.
 *
 * @module
 */

import { fileURLToPath } from "../path.ts";
import { linkTypeDescription, Pcap, PcapError } from "../../ffi/mod.ts";
import { decodeFrameAt, type DecodeResult, decodesLinkType, linkTypeName } from "./decode.ts";
import { CaptureFileError, PcapFileReader } from "./pcap_reader.ts";

export { CaptureFileError };

/** Options for `openCaptureFile`. */
export interface OfflineOptions {
  /** A BPF filter applied before decoding, e.g. `"udp port 53"` (read through libpcap). */
  filter?: string;
  /**
   * "libpcap" reads through libpcap even without a filter (tests and benchmarks compare the
   * two); by default pad's reader reads what it can.
   */
  reader?: "pad" | "libpcap";
  /** False: packets come with an empty `payload`, for callers that keep none (it is faster). */
  payload?: boolean;
}

/** Frame counts so far, by what the decoder made of them. */
export interface CaptureCounts {
  frames: number;
  ip: number;
  nonIp: number;
  malformed: number;
}

/**
 * One record at a time from either reader, valid until the next `next()`: the frame is
 * `bytes[offset, offset + caplen)`.
 */
interface FrameSource {
  next(): boolean;
  linkType: number;
  tsSec: number;
  tsUsec: number;
  wireLength: number;
  bytes: Uint8Array;
  offset: number;
  caplen: number;
  close(): void;
}

/**
 * An open capture file: call `next()` (or iterate) for `DecodeResult`s in file order, read
 * `counts` as it goes, and close it (or let `using` do so). A file that ends inside a record or
 * holds a record that makes no sense throws {@linkcode CaptureFileError} after the frames before
 * it.
 */
export class CaptureFile implements Iterable<DecodeResult>, Disposable {
  /** Which reader reads the file: pad's own, or libpcap (filters, rare formats). */
  readonly reader: "pad" | "libpcap";
  /**
   * The file's link type (a libpcap DLT_ value); in a pcapng file, its first interface's (each
   * frame is decoded by its own interface's).
   */
  readonly linkType: number;
  /** The link type's readable name, e.g. "Ethernet". */
  readonly linkTypeName: string;
  /** Counts of the frames read so far. */
  readonly counts: CaptureCounts = { frames: 0, ip: 0, nonIp: 0, malformed: 0 };
  /** Frames of link types pad does not decode (counted as not IP), by link type. */
  readonly undecoded = new Map<number, number>();
  #source: FrameSource;
  readonly #keepPayload: boolean;

  /** Wraps an open source; use `openCaptureFile`. */
  private constructor(source: FrameSource, reader: "pad" | "libpcap", options: OfflineOptions) {
    this.#source = source;
    this.#keepPayload = options.payload ?? true;
    this.reader = reader;
    this.linkType = source.linkType;
    this.linkTypeName = linkTypeName(this.linkType);
  }

  /** Opens `path` for decoding; see {@linkcode openCaptureFile}. */
  static open(path: string, options: OfflineOptions = {}): CaptureFile {
    // A pipe cannot be read twice: what pad's reader left to libpcap would have lost its head.
    const regular = Deno.statSync(path).isFile;
    if (options.filter === undefined && options.reader !== "libpcap" && regular) {
      const reader = PcapFileReader.open(path);
      if (reader !== null) return new CaptureFile(reader, "pad", options);
    }
    const classic = !regular || !isPcapng(path);
    const source = LibpcapSource.open(path, options.filter, classic);
    return new CaptureFile(source, "libpcap", options);
  }

  #timeMs = NaN;

  /** The time stamp of the frame `next()` returned last, ms since the epoch. */
  get timeMs(): number {
    return this.#timeMs;
  }

  /**
   * The next frame's decode result, or null at the end of the file. Its packet's `payload` is
   * valid until the next call (the reader's buffer is reused).
   */
  next(): DecodeResult | null {
    const source = this.#source;
    if (!source.next()) return null;
    const offset = source.offset;
    this.#timeMs = source.tsSec * 1000 + source.tsUsec / 1000;
    const result = decodeFrameAt(
      source.linkType,
      source.bytes,
      offset,
      offset + source.caplen,
      this.#timeMs,
      source.wireLength,
      this.#keepPayload,
    );
    countResult(result, this.counts);
    if (!decodesLinkType(source.linkType)) {
      this.undecoded.set(source.linkType, (this.undecoded.get(source.linkType) ?? 0) + 1);
    }
    return result;
  }

  /** Yields each frame's decode result in file order (see `next()`), then closes the file. */
  *[Symbol.iterator](): Generator<DecodeResult, void, undefined> {
    try {
      for (let result = this.next(); result !== null; result = this.next()) yield result;
    } finally {
      this.close();
    }
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#source.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A link type in words: pad's name for the ones it decodes, else libpcap's description (when
 * libpcap loads), e.g. `127 (802.11 plus radiotap header)`.
 */
export function describeLinkType(linkType: number): string {
  if (decodesLinkType(linkType)) return `${linkType} (${linkTypeName(linkType)})`;
  try {
    const description = linkTypeDescription(linkType);
    if (description) return `${linkType} (${description})`;
  } catch {
    // no libpcap: the number alone
  }
  return String(linkType);
}

/**
 * Opens a capture file for decoding: pad's reader for regular files it reads, libpcap for the
 * rest (a filter, a pipe, formats pad's reader leaves to it). Throws `PcapError` if libpcap
 * cannot read it (not a capture file, a bad header, a bad filter) and what `Deno.statSync` and
 * `Deno.openSync` throw.
 */
export function openCaptureFile(path: string | URL, options: OfflineOptions = {}): CaptureFile {
  return CaptureFile.open(path instanceof URL ? fileURLToPath(path) : path, options);
}

/** Counts one decoded frame by kind. */
export function countResult(result: DecodeResult, counts: CaptureCounts): void {
  counts.frames++;
  if (result.kind === "ip") counts.ip++;
  else if (result.kind === "non-ip") counts.nonIp++;
  else counts.malformed++;
}

/**
 * The seconds of a capture file's record as libpcap gives them, read as the unsigned number
 * the file holds: libpcap 1.10.3 (Debian 12) reads a classic pcap file's ts_sec as signed
 * 32-bit, so a stamp after 2038-01-19 comes out negative; 2^32 more is the file's value.
 */
export function fileSeconds(tsSec: number): number {
  return tsSec < 0 && tsSec >= -TWO_31 ? tsSec + TWO_32 : tsSec;
}

const TWO_31 = 2 ** 31;
const TWO_32 = 2 ** 32;

/** pcapng's Section Header Block type, the first four bytes of a pcapng file in any order. */
const PCAPNG_MAGIC = 0x0a0d0d0a;

/** Whether the regular file at `path` begins as a pcapng file does. */
function isPcapng(path: string): boolean {
  using file = Deno.openSync(path, { read: true });
  const head = new Uint8Array(4);
  if ((file.readSync(head) ?? 0) < 4) return false;
  return new DataView(head.buffer).getUint32(0) === PCAPNG_MAGIC;
}

/** libpcap's reader behind the same interface; read errors become `CaptureFileError`s. */
class LibpcapSource implements FrameSource {
  linkType: number;
  tsSec = 0;
  tsUsec = 0;
  wireLength = 0;
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  caplen = 0;
  #pcap: Pcap;

  readonly #classic: boolean;

  /** `classic`: a classic pcap file, whose seconds libpcap 1.10.3 reads as signed. */
  private constructor(pcap: Pcap, classic: boolean) {
    this.#pcap = pcap;
    this.#classic = classic;
    this.linkType = pcap.datalink();
  }

  static open(path: string, filter: string | undefined, classic: boolean): LibpcapSource {
    const pcap = Pcap.openOffline(path);
    try {
      if (filter !== undefined) pcap.setFilter(filter);
      return new LibpcapSource(pcap, classic);
    } catch (error) {
      pcap.close();
      throw error;
    }
  }

  next(): boolean {
    for (;;) {
      let packet;
      try {
        packet = this.#pcap.next();
      } catch (error) {
        if (!(error instanceof PcapError)) throw error;
        // libpcap tells a file cut short only by its words ("truncated dump file; …").
        const text = error.libpcapMessage;
        const kind = /^truncated /.test(text) ? "truncated" : "corrupt";
        throw new CaptureFileError(text, kind, { cause: error });
      }
      if (packet === "eof") return false;
      if (packet === null) continue; // never for files; kept for a handle read live
      this.tsSec = this.#classic ? fileSeconds(packet.tsSec) : packet.tsSec;
      this.tsUsec = packet.tsUsec;
      this.wireLength = packet.len;
      this.bytes = packet.data;
      this.caplen = packet.data.length;
      return true;
    }
  }

  close(): void {
    this.#pcap.close();
  }
}
