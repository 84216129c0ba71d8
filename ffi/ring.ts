/**
 * A live capture's packets read where the kernel put them. On Linux, libpcap captures into a
 * TPACKET_V3 ring mapped into this process: blocks of packets, each handed over whole when it
 * fills or its timeout passes. `pcap_next_ex` copies every packet out of a block into its own
 * buffer, and through FFI that call, the copy into JavaScript and the packet's objects cost about
 * 1 µs a packet: two thirds of what live capture cost (1.5 CPU s per million on lo).
 * {@linkcode PacketRing} reads libpcap's own mapping of the ring in place, a block at a time, and
 * does per packet what libpcap's reader does: skips loopback's outgoing copy (each packet on lo
 * is seen leaving and arriving), puts back a VLAN tag the kernel took off, cuts to the snapshot
 * length.
 *
 * Where that cannot be checked there is no ring, and the caller reads with `Pcap.next()`: not
 * Linux, not Ethernet (cooked captures get a header libpcap writes), not TPACKET_V3 (immediate
 * mode uses V2), a filter libpcap runs itself because the kernel refused it, or a mapping not
 * the shape libpcap makes (blocks of 256 KiB, as pcap-linux.c has made them since TPACKET_V3 came
 * in libpcap 1.5). The kernel numbers its blocks as it fills them, and a number out of turn (a
 * libpcap that sizes blocks otherwise) stops reading in place before that block is read.
 *
 * @module
 */

import { getSocketOption, setSocketOption } from "./libc.ts";
import type { Pcap } from "./pcap.ts";

/** Called once per packet: the frame is `bytes[start, end)`, valid only until the call returns. */
export type FrameVisitor = (
  bytes: Uint8Array,
  start: number,
  end: number,
  tsMs: number,
  wireLength: number,
) => void;

const DLT_EN10MB = 1;
// linux/socket.h, linux/if_packet.h, asm-generic/socket.h, linux/if_arp.h
const SOL_SOCKET = 1;
const SOL_PACKET = 263;
const PACKET_VERSION = 10;
const TPACKET_V3 = 2;
const SO_GET_FILTER = 26;
const PACKET_IGNORE_OUTGOING = 23;
const PACKET_OUTGOING = 4;
const ARPHRD_LOOPBACK = 772;
/**
 * libpcap's TPACKET_V3 block: a "frame" of MAXIMUM_SNAPLEN (262,144) bytes, the block the
 * smallest power-of-two pages that holds one (pcap-linux.c, create_ring).
 */
const BLOCK_BYTES = 262_144;
// struct tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1's fields (bytes).
const BLOCK_STATUS = 8;
const BLOCK_PACKETS = 12;
const BLOCK_FIRST_PACKET = 16;
/** The low word of the block's sequence number, which the kernel counts up from 1. */
const BLOCK_SEQUENCE = 24;
const TP_STATUS_KERNEL = 0;
const TP_STATUS_USER = 1;
const TP_STATUS_VLAN_VALID = 0x10;
const TP_STATUS_VLAN_TPID_VALID = 0x40;
// struct tpacket3_hdr (48 bytes, 16-aligned) in 32-bit words, then its 16-bit tp_mac.
const TP_NEXT_OFFSET = 0;
const TP_SEC = 1;
const TP_NSEC = 2;
const TP_SNAPLEN = 3;
const TP_LEN = 4;
const TP_STATUS = 5;
const TP_VLAN_TCI = 8;
const TP_MAC_BYTE = 24;
const TP_VLAN_TPID_BYTE = 36;
const TPACKET3_HDR_BYTES = 48;
// struct sockaddr_ll, right after the header: family(2) protocol(2) ifindex(4) hatype(2)
// pkttype(1) halen(1) addr(8).
const SLL_HATYPE_BYTE = 8;
const SLL_PKTTYPE_BYTE = 10;
const SLL_BYTES = 20;
const ETHERNET_ADDRESSES = 12;
const VLAN_TAG = 4;
const ETHERTYPE_VLAN = 0x8100;

/**
 * The blocks are not numbered as 256-KiB blocks read in order would be: a libpcap that sizes its
 * blocks otherwise. Nothing was read from the block; libpcap's own reader can take over.
 */
export class RingLayoutError extends Error {
  override name = "RingLayoutError";
}

/** libpcap's ring of one live capture, read in place; see the module's comment. */
export class PacketRing {
  #words: Uint32Array;
  #halves: Uint16Array;
  #bytes: Uint8Array;
  #blocks: number;
  #current = 0;
  /** Blocks read so far: the next block's sequence number is one more. */
  #blocksRead = 0;
  readonly #snaplen: number;
  /** Whether lo's outgoing copies may reach the ring (the kernel could not be told to drop them). */
  readonly #outgoingCopies: boolean;
  /**
   * Packets stamped before the ring was found are skipped: some may have arrived before the
   * filter was installed, and libpcap's reader (bypassed here) would have filtered them itself.
   * They can only be in the first block (the filter is set microseconds after the ring is made),
   * so only that block is checked: a clock set back later cannot make pad skip packets.
   */
  #skipBeforeMs: number;
  /** A frame the kernel took a VLAN tag off, with the tag put back. */
  #tagged = new Uint8Array(0);

  /**
   * A ring over `memory`, laid out as the kernel lays out TPACKET_V3 (use `of`; tests build one).
   * `outgoingCopies` false: no packet is lo's outgoing copy, so none is looked for.
   */
  constructor(memory: ArrayBuffer, snaplen: number, outgoingCopies = true) {
    this.#words = new Uint32Array(memory);
    this.#halves = new Uint16Array(memory);
    this.#bytes = new Uint8Array(memory);
    this.#blocks = memory.byteLength / BLOCK_BYTES;
    this.#snaplen = snaplen;
    this.#outgoingCopies = outgoingCopies;
    this.#skipBeforeMs = performance.timeOrigin + performance.now();
  }

  /**
   * The ring of `pcap`, a live capture whose filter (if any) is already set, or null where it
   * cannot be read in place (see the module's comment). The ring is valid until `pcap` closes:
   * `close()` it first.
   */
  static of(pcap: Pcap): PacketRing | null {
    if (Deno.build.os !== "linux" || pcap.datalink() !== DLT_EN10MB) return null;
    const fd = pcap.selectableFd();
    if (fd < 0) return null;
    const version = new Int32Array(1);
    if (getSocketOption(fd, SOL_PACKET, PACKET_VERSION, version) === null) return null;
    if (version[0] !== TPACKET_V3) return null;
    // With no optval, SO_GET_FILTER gives the attached program's length: 0 means the kernel
    // refused the filter, and libpcap's reader applies it instead.
    if (pcap.filter !== undefined) {
      const instructions = getSocketOption(fd, SOL_SOCKET, SO_GET_FILTER, new Uint8Array(0));
      if (!instructions) return null;
    }
    // On loopback every packet is seen leaving and again arriving, and libpcap's reader drops
    // the first: the kernel can drop it instead (Linux 4.20+), before copying it into the ring.
    const outgoingCopies = isLoopback(pcap.source) &&
      !setSocketOption(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    const mapping = socketMapping(fd);
    if (mapping === null || mapping.length === 0 || mapping.length % BLOCK_BYTES !== 0) {
      return null;
    }
    const pointer = Deno.UnsafePointer.create(mapping.address);
    if (pointer === null) return null;
    const memory = Deno.UnsafePointerView.getArrayBuffer(pointer, mapping.length);
    return new PacketRing(memory, pcap.snaplen, outgoingCopies);
  }

  /**
   * Reads the blocks the kernel has handed over, until they run out or at least `limit` packets
   * are read, calling `visit` for each packet; returns how many. Each block goes back to the
   * kernel after its packets, so `visit` copies what it keeps. Throws if a block's offsets lead
   * outside it (a corrupted ring, as libpcap's reader says), and {@linkcode RingLayoutError}
   * before reading a block whose number says the blocks are not where this reads them.
   */
  read(limit: number, visit: FrameVisitor): number {
    const words = this.#words;
    let read = 0;
    while (read < limit && this.#blocks > 0) {
      const block = this.#current * BLOCK_BYTES;
      const status = (block + BLOCK_STATUS) >> 2;
      if ((Atomics.load(words, status) & TP_STATUS_USER) === 0) break;
      const sequence = words[(block + BLOCK_SEQUENCE) >> 2]!;
      if (sequence !== ((this.#blocksRead + 1) >>> 0)) {
        throw new RingLayoutError(
          `The capture ring's block ${this.#current} is number ${sequence}, not ${
            this.#blocksRead + 1
          }: its blocks are not ${BLOCK_BYTES} bytes`,
        );
      }
      this.#blocksRead++;
      const count = words[(block + BLOCK_PACKETS) >> 2]!;
      let at = block + words[(block + BLOCK_FIRST_PACKET) >> 2]!;
      for (let i = 0; i < count; i++) {
        if (at + TPACKET3_HDR_BYTES + SLL_BYTES > block + BLOCK_BYTES) throw corrupted(at);
        read += this.#packet(at, block + BLOCK_BYTES, visit);
        at += words[(at >> 2) + TP_NEXT_OFFSET]!;
      }
      Atomics.store(words, status, TP_STATUS_KERNEL);
      this.#current = (this.#current + 1) % this.#blocks;
      this.#skipBeforeMs = -Infinity;
    }
    return read;
  }

  /** Drops the views of the ring: after this, `read` reads nothing (the mapping may be gone). */
  close(): void {
    this.#words = new Uint32Array(0);
    this.#halves = new Uint16Array(0);
    this.#bytes = new Uint8Array(0);
    this.#blocks = 0;
  }

  /** One packet at byte `at`; returns 1 if it was visited, 0 if skipped. */
  #packet(at: number, blockEnd: number, visit: FrameVisitor): number {
    const words = this.#words;
    const bytes = this.#bytes;
    const word = at >> 2;
    const link = at + TPACKET3_HDR_BYTES;
    if (
      this.#outgoingCopies && bytes[link + SLL_PKTTYPE_BYTE] === PACKET_OUTGOING &&
      this.#halves[(link + SLL_HATYPE_BYTE) >> 1] === ARPHRD_LOOPBACK
    ) return 0;
    // Microseconds, as libpcap's default precision gives them.
    const tsMs = words[word + TP_SEC]! * 1000 + Math.floor(words[word + TP_NSEC]! / 1000) / 1000;
    if (tsMs < this.#skipBeforeMs) return 0;
    const start = at + this.#halves[(at + TP_MAC_BYTE) >> 1]!;
    const captured = words[word + TP_SNAPLEN]!;
    if (start + captured > blockEnd) throw corrupted(at);
    const status = words[word + TP_STATUS]!;
    const tci = words[word + TP_VLAN_TCI]!;
    if ((tci !== 0 || (status & TP_STATUS_VLAN_VALID) !== 0) && captured >= ETHERNET_ADDRESSES) {
      const tpid = this.#halves[(at + TP_VLAN_TPID_BYTE) >> 1]!;
      const tagType = tpid !== 0 || (status & TP_STATUS_VLAN_TPID_VALID) !== 0
        ? tpid
        : ETHERTYPE_VLAN;
      const frame = this.#retag(start, captured, tagType, tci);
      visit(
        frame,
        0,
        Math.min(frame.length, this.#snaplen),
        tsMs,
        words[word + TP_LEN]! + VLAN_TAG,
      );
    } else {
      visit(bytes, start, start + Math.min(captured, this.#snaplen), tsMs, words[word + TP_LEN]!);
    }
    return 1;
  }

  /** The frame at `start` with its VLAN tag between the addresses and the Ethertype again. */
  #retag(start: number, captured: number, tagType: number, tci: number): Uint8Array {
    const length = captured + VLAN_TAG;
    if (this.#tagged.length < length) this.#tagged = new Uint8Array(Math.max(length, 2048));
    const frame = this.#tagged.subarray(0, length);
    frame.set(this.#bytes.subarray(start, start + ETHERNET_ADDRESSES));
    frame[12] = tagType >> 8;
    frame[13] = tagType & 0xff;
    frame[14] = (tci >> 8) & 0xff;
    frame[15] = tci & 0xff;
    frame.set(this.#bytes.subarray(start + ETHERNET_ADDRESSES, start + captured), 16);
    return frame;
  }
}

function corrupted(at: number): Error {
  return new Error(`Corrupted frame on the kernel's capture ring at byte ${at}`);
}

function isLoopback(device: string): boolean {
  try {
    return Number(Deno.readTextFileSync(`/sys/class/net/${device}/type`)) === ARPHRD_LOOPBACK;
  } catch {
    return false;
  }
}

/** Where libpcap mapped the ring of socket `fd`: its line in /proc/self/maps; null if none. */
function socketMapping(fd: number): { address: bigint; length: number } | null {
  try {
    const socket = Deno.readLinkSync(`/proc/self/fd/${fd}`); // "socket:[12345]"
    for (const line of Deno.readTextFileSync("/proc/self/maps").split("\n")) {
      if (!line.endsWith(` ${socket}`)) continue;
      const match = /^([0-9a-f]+)-([0-9a-f]+) rw-s /.exec(line);
      if (match === null) return null;
      const address = BigInt(`0x${match[1]}`);
      return { address, length: Number(BigInt(`0x${match[2]}`) - address) };
    }
  } catch {
    // no /proc, or no permission to read it
  }
  return null;
}
