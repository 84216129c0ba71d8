/**
 * Reads a pcap or pcapng file through libpcap and decodes every frame.
 *
 * @module
 */

import { Pcap, type PcapPacket } from "../../ffi/mod.ts";
import { decodeFrame, type DecodeResult } from "./decode.ts";
import { linkTypeName } from "./link_type.ts";

/** Options for `openCaptureFile`. */
export interface OfflineOptions {
  /** A BPF filter applied before decoding, e.g. `"udp port 53"`. */
  filter?: string;
}

/** Frame counts so far, by what the decoder made of them. */
export interface CaptureCounts {
  frames: number;
  ip: number;
  nonIp: number;
  malformed: number;
}

/**
 * An open capture file: iterate it for `DecodeResult`s (once), read `counts` as it goes, and
 * close it (or let `using` do so).
 */
export class CaptureFile implements Iterable<DecodeResult>, Disposable {
  /** The file's link type (a libpcap DLT_ value). */
  readonly linkType: number;
  /** The link type's readable name, e.g. "Ethernet". */
  readonly linkTypeName: string;
  /** Counts of the frames read so far. */
  readonly counts: CaptureCounts = { frames: 0, ip: 0, nonIp: 0, malformed: 0 };
  #pcap: Pcap;

  /** Wraps an open handle; use `openCaptureFile`. */
  constructor(pcap: Pcap) {
    this.#pcap = pcap;
    this.linkType = pcap.datalink();
    this.linkTypeName = linkTypeName(this.linkType);
  }

  /** Yields each frame's decode result in file order, then closes the file. */
  *[Symbol.iterator](): Generator<DecodeResult, void, undefined> {
    const pcap = this.#pcap;
    const linkType = this.linkType;
    const counts = this.counts;
    try {
      for (;;) {
        const packet = pcap.next();
        if (packet === "eof") return;
        if (packet === null) continue; // never for files; kept for a handle read live
        yield decodeAndCount(linkType, packet, counts);
      }
    } finally {
      pcap.close();
    }
  }

  /** Closes the file; safe to call twice. */
  close(): void {
    this.#pcap.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Decodes one packet libpcap returned and counts it by kind in `counts`. */
export function decodeAndCount(
  linkType: number,
  packet: PcapPacket,
  counts: CaptureCounts,
): DecodeResult {
  const result = decodeFrame(
    linkType,
    packet.data,
    packet.tsSec * 1000 + packet.tsUsec / 1000,
    packet.len,
  );
  counts.frames++;
  if (result.kind === "ip") counts.ip++;
  else if (result.kind === "non-ip") counts.nonIp++;
  else counts.malformed++;
  return result;
}

/** Opens a capture file for decoding; throws `PcapError` if libpcap cannot read it. */
export function openCaptureFile(path: string | URL, options: OfflineOptions = {}): CaptureFile {
  const pcap = Pcap.openOffline(path);
  try {
    if (options.filter !== undefined) pcap.setFilter(options.filter);
    return new CaptureFile(pcap);
  } catch (error) {
    pcap.close();
    throw error;
  }
}
