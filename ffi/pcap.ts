/**
 * A libpcap capture handle: live (`pcap_create` … `pcap_activate`) or offline (a pcap/pcapng
 * file), read one packet at a time with `pcap_next_ex`.
 *
 * @module
 */

import { libpcap } from "./library.ts";
import { waitReadable } from "./libc.ts";
import { readSocketAddress, type SocketAddress } from "./sockaddr.ts";
import type { PcapSymbols } from "./symbols.ts";

/** libpcap's status codes (`pcap/pcap.h`): errors are negative, warnings positive. */
export const PcapStatus = {
  ERROR: -1,
  BREAK: -2,
  NOT_ACTIVATED: -3,
  ACTIVATED: -4,
  NO_SUCH_DEVICE: -5,
  RFMON_NOTSUP: -6,
  NOT_RFMON: -7,
  PERM_DENIED: -8,
  IFACE_NOT_UP: -9,
  CANTSET_TSTAMP_TYPE: -10,
  PROMISC_PERM_DENIED: -11,
  TSTAMP_PRECISION_NOTSUP: -12,
  WARNING: 1,
  WARNING_PROMISC_NOTSUP: 2,
  WARNING_TSTAMP_TYPE_NOTSUP: 3,
} as const;

/** An error reported by libpcap: `code` is its status (e.g. `PcapStatus.PERM_DENIED`). */
export class PcapError extends Error {
  /** libpcap's status code; `PcapStatus.ERROR` (-1) when libpcap gave only a message. */
  readonly code: number;
  /** libpcap's own text (`pcap_geterr` or the error buffer), empty when it gave none. */
  readonly libpcapMessage: string;

  /** Wraps a libpcap failure; `message` is the whole sentence shown to users. */
  constructor(message: string, code: number, libpcapMessage = "", options?: ErrorOptions) {
    super(message, options);
    this.name = "PcapError";
    this.code = code;
    this.libpcapMessage = libpcapMessage;
  }
}

/** How to open a live capture; every field but `device` has a default. */
export interface LiveOptions {
  /** Interface name, e.g. `"lo"` or `"eth0"`. */
  device: string;
  /** Bytes kept per packet (default 65,535). */
  snaplen?: number;
  /** Promiscuous mode (default false). */
  promiscuous?: boolean;
  /** Kernel ring size in bytes (default: libpcap's, 2 MiB on Linux). */
  bufferSizeBytes?: number;
  /**
   * Deliver each packet at once (default false). On Linux this makes libpcap use TPACKET_V2,
   * whose ring holds far fewer packets than TPACKET_V3's blocks: prefer a short `timeoutMs`.
   */
  immediate?: boolean;
  /** Packet buffer timeout in milliseconds (default 10); bounds the delivery latency. */
  timeoutMs?: number;
  /** Put the handle in nonblocking mode after activation (default true). */
  nonblocking?: boolean;
}

/** One packet's record header, as `struct pcap_pkthdr` gives it. */
export interface PcapHeader {
  /** Seconds since the epoch. */
  tsSec: number;
  /** Microseconds within the second. */
  tsUsec: number;
  /** Bytes captured (≤ snaplen). */
  caplen: number;
  /** Bytes on the wire. */
  len: number;
}

/** One packet: its header and its captured bytes, copied out of libpcap's buffer. */
export interface PcapPacket extends PcapHeader {
  /**
   * The captured bytes (`caplen` long), copied out of libpcap's buffer into a 256 KiB slab shared
   * with neighbouring packets and never written again: `slice()` a packet kept for long so it
   * does not pin the slab.
   */
  data: Uint8Array;
}

/** Counters from `pcap_stats` (32-bit, so they wrap on long captures). */
export interface PcapStats {
  received: number;
  dropped: number;
  ifDropped: number;
}

/** One capture interface from `pcap_findalldevs`. */
export interface PcapDevice {
  name: string;
  description: string | null;
  flags: { up: boolean; running: boolean; loopback: boolean };
  addresses: SocketAddress[];
}

export type { SocketAddress };

/** Bytes per slab that `next()` copies packets into. */
const SLAB_SIZE = 256 * 1024;
// PCAP_ERRBUF_SIZE in pcap/pcap.h.
const ERRBUF_SIZE = 256;
// PCAP_NETMASK_UNKNOWN: lets pcap_compile accept a filter without knowing the netmask.
const NETMASK_UNKNOWN = 0xffffffff;
// struct bpf_program { u_int bf_len; struct bpf_insn *bf_insns; }: 4 + 4 padding + 8 on 64-bit.
const BPF_PROGRAM_SIZE = 16;
// struct pcap_pkthdr on 64-bit Linux and macOS: struct timeval ts (tv_sec 8 bytes at 0, tv_usec at
// 8: 8 bytes on Linux, 4 + 4 padding on macOS, so the low 32 bits read the same on little-endian),
// bpf_u_int32 caplen at 16, bpf_u_int32 len at 20. Indexes are in 32-bit words.
const PKTHDR_SIZE = 24;
const PKTHDR_TV_SEC_LO = 0;
const PKTHDR_TV_SEC_HI = 1;
const PKTHDR_TV_USEC = 2;
const PKTHDR_CAPLEN = 4;
const PKTHDR_LEN = 5;
// struct pcap_stat { u_int ps_recv; u_int ps_drop; u_int ps_ifdrop; } (+ ps_capt on Windows).
const STAT_RECV = 0;
const STAT_DROP = 1;
const STAT_IFDROP = 2;
// struct pcap_if { pcap_if *next; char *name; char *description; pcap_addr *addresses;
//                  bpf_u_int32 flags; } on 64-bit: pointers at 0, 8, 16, 24 and flags at 32.
const IF_NEXT = 0;
const IF_NAME = 8;
const IF_DESCRIPTION = 16;
const IF_ADDRESSES = 24;
const IF_FLAGS = 32;
// PCAP_IF_LOOPBACK, PCAP_IF_UP, PCAP_IF_RUNNING.
const IF_FLAG_LOOPBACK = 0x1;
const IF_FLAG_UP = 0x2;
const IF_FLAG_RUNNING = 0x4;
// struct pcap_addr { pcap_addr *next; sockaddr *addr; sockaddr *netmask; sockaddr *broadaddr;
//                    sockaddr *dstaddr; }: next at 0, addr at 8.
const ADDR_NEXT = 0;
const ADDR_ADDR = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(text.length * 3 + 1); // UTF-8 never needs more; the rest stays NUL
  encoder.encodeInto(text, bytes);
  return bytes;
}

function errbufText(errbuf: Uint8Array): string {
  const end = errbuf.indexOf(0);
  return decoder.decode(errbuf.subarray(0, end < 0 ? errbuf.length : end)).trim();
}

function pointerText(pointer: Deno.PointerValue): string {
  return pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
}

/** libpcap's text for a status code (pcap_statustostr), e.g. "You don't have permission to capture on that device". */
function statusText(lib: PcapSymbols, code: number): string {
  return pointerText(lib.pcap_statustostr(code));
}

// A backstop for handles dropped without close(); close() unregisters.
const leakedHandles = new FinalizationRegistry<Deno.PointerObject>((handle) => {
  libpcap().pcap_close(handle);
});

/** Exclusive owner of one `pcap_t *`; `close()` (or `using`) releases it. */
export class Pcap {
  #lib: PcapSymbols;
  #handle: Deno.PointerObject | null;
  #source: string;
  #headerOut = new BigUint64Array(1);
  #dataOut = new BigUint64Array(1);
  // libpcap hands back the same `struct pcap_pkthdr *` (inside the pcap_t) on every call, so one
  // view over it is made once and re-made only if the address ever changes.
  #headerAddress = 0n;
  #header = new Uint32Array(PKTHDR_SIZE / 4);
  #statsOut = new Uint32Array(4);
  // Packet copies are carved out of shared slabs: one ArrayBuffer per packet costs more than
  // reading the packet (an allocation of ~1 µs against ~0.3 µs for pcap_next_ex and the copy).
  #slab = new Uint8Array(0);
  #slabUsed = 0;
  #snaplen = 0;
  #filter: string | undefined;

  private constructor(lib: PcapSymbols, handle: Deno.PointerObject, source: string) {
    this.#lib = lib;
    this.#handle = handle;
    this.#source = source;
    leakedHandles.register(this, handle, this);
  }

  /**
   * Opens a live capture: pcap_create, the set_* calls, pcap_activate (warnings are accepted),
   * then nonblocking mode. Throws `PcapError` whose `code` tells e.g. `PERM_DENIED` from
   * `NO_SUCH_DEVICE`.
   */
  static openLive(options: LiveOptions): Pcap {
    const lib = libpcap();
    const device = options.device;
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const handle = lib.pcap_create(cString(device), errbuf);
    if (handle === null) {
      const text = errbufText(errbuf);
      throw new PcapError(`Cannot open "${device}" for capture: ${text}`, PcapStatus.ERROR, text);
    }
    const pcap = new Pcap(lib, handle, device);
    pcap.#snaplen = options.snaplen ?? 65_535;
    try {
      pcap.#check(
        lib.pcap_set_snaplen(handle, pcap.#snaplen),
        "set the snapshot length",
      );
      pcap.#check(
        lib.pcap_set_promisc(handle, options.promiscuous ? 1 : 0),
        "set promiscuous mode",
      );
      pcap.#check(lib.pcap_set_timeout(handle, options.timeoutMs ?? 10), "set the timeout");
      if (options.bufferSizeBytes !== undefined) {
        pcap.#check(
          lib.pcap_set_buffer_size(handle, options.bufferSizeBytes),
          "set the buffer size",
        );
      }
      if (options.immediate) {
        if (lib.pcap_set_immediate_mode === null) {
          throw new PcapError(
            `Cannot set immediate mode on "${device}": this libpcap lacks pcap_set_immediate_mode`,
            PcapStatus.ERROR,
          );
        }
        pcap.#check(lib.pcap_set_immediate_mode(handle, 1), "set immediate mode");
      }
      const status = lib.pcap_activate(handle);
      if (status < 0) {
        // pcap_geterr has details only for these statuses; for the others it may be stale.
        const detailed = status === PcapStatus.ERROR || status === PcapStatus.NO_SUCH_DEVICE ||
          status === PcapStatus.PERM_DENIED || status === PcapStatus.PROMISC_PERM_DENIED ||
          status === PcapStatus.RFMON_NOTSUP || status === PcapStatus.IFACE_NOT_UP;
        const detail = detailed ? pointerText(lib.pcap_geterr(handle)) : "";
        const summary = statusText(lib, status);
        throw new PcapError(
          `Cannot start capture on "${device}": ${summary}${
            detail && detail !== summary ? ` (${detail})` : ""
          }`,
          status,
          detail || summary,
        );
      }
      if (options.nonblocking ?? true) pcap.setNonblocking(true);
      return pcap;
    } catch (error) {
      pcap.close();
      throw error;
    }
  }

  /** Opens a pcap or pcapng file for reading; throws `PcapError` with libpcap's reason. */
  static openOffline(file: string): Pcap {
    const lib = libpcap();
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    const handle = lib.pcap_open_offline(cString(file), errbuf);
    if (handle === null) {
      const text = errbufText(errbuf);
      throw new PcapError(`Cannot read capture file "${file}": ${text}`, PcapStatus.ERROR, text);
    }
    return new Pcap(lib, handle, file);
  }

  /** True once `close()` has run. */
  get closed(): boolean {
    return this.#handle === null;
  }

  /**
   * Resolves once a packet may be ready or `timeoutMs` has passed, without holding the thread;
   * null where this handle or platform cannot be waited on (the caller then uses a timer).
   */
  waitReadable(timeoutMs: number): Promise<boolean> | null {
    const fd = this.selectableFd();
    return fd < 0 ? null : waitReadable(fd, timeoutMs);
  }

  /** The descriptor poll(2) can wait on (a live capture's socket on Linux), or -1. */
  selectableFd(): number {
    return this.#lib.pcap_get_selectable_fd(this.#open());
  }

  /** The interface or file this handle reads. */
  get source(): string {
    return this.#source;
  }

  /** The bytes kept per packet, as `openLive` set it (0 for a file). */
  get snaplen(): number {
    return this.#snaplen;
  }

  /** The filter `setFilter` installed last, if any. */
  get filter(): string | undefined {
    return this.#filter;
  }

  /** Switches nonblocking mode: `next()` then returns `null` at once when no packet is ready. */
  setNonblocking(nonblocking: boolean): void {
    const handle = this.#open();
    const errbuf = new Uint8Array(ERRBUF_SIZE);
    if (this.#lib.pcap_setnonblock(handle, nonblocking ? 1 : 0, errbuf) < 0) {
      const text = errbufText(errbuf);
      throw new PcapError(
        `Cannot set nonblocking mode on "${this.#source}": ${text}`,
        PcapStatus.ERROR,
        text,
      );
    }
  }

  /** Compiles and installs a BPF filter (e.g. `"udp port 53"`); throws with libpcap's message. */
  setFilter(expression: string): void {
    const handle = this.#open();
    const program = new Uint8Array(BPF_PROGRAM_SIZE);
    if (this.#lib.pcap_compile(handle, program, cString(expression), 1, NETMASK_UNKNOWN) < 0) {
      const text = pointerText(this.#lib.pcap_geterr(handle));
      throw new PcapError(
        `Invalid capture filter "${expression}": ${text}`,
        PcapStatus.ERROR,
        text,
      );
    }
    try {
      if (this.#lib.pcap_setfilter(handle, program) < 0) {
        const text = pointerText(this.#lib.pcap_geterr(handle));
        throw new PcapError(
          `Cannot install capture filter "${expression}": ${text}`,
          PcapStatus.ERROR,
          text,
        );
      }
      this.#filter = expression;
    } finally {
      // The kernel (or libpcap's userland filter) keeps its own copy; the program can go.
      this.#lib.pcap_freecode(program);
    }
  }

  /** The handle's link-layer type (a DLT_ value, e.g. 1 for Ethernet, 113 for Linux SLL). */
  datalink(): number {
    return this.#lib.pcap_datalink(this.#open());
  }

  /**
   * Reads one packet: the packet, `null` when none is ready (nonblocking mode or the timeout
   * expired), or `"eof"` at the end of a file. Throws `PcapError` on a read error.
   */
  next(): PcapPacket | null | "eof" {
    const handle = this.#open();
    const status = this.#lib.pcap_next_ex(handle, this.#headerOut, this.#dataOut);
    if (status === 1) {
      const header = this.#headerView();
      const caplen = header[PKTHDR_CAPLEN]!;
      const data = this.#take(caplen);
      const dataPointer = Deno.UnsafePointer.create(this.#dataOut[0]!);
      if (caplen > 0 && dataPointer !== null) Deno.UnsafePointerView.copyInto(dataPointer, data);
      return {
        // time_t is signed: the high word's top bit is the sign.
        tsSec: header[PKTHDR_TV_SEC_LO]! + (header[PKTHDR_TV_SEC_HI]! | 0) * 2 ** 32,
        tsUsec: header[PKTHDR_TV_USEC]!,
        caplen,
        len: header[PKTHDR_LEN]!,
        data,
      };
    }
    if (status === 0) return null;
    // PCAP_ERROR_BREAK: no more packets in a file (pad never calls pcap_breakloop).
    if (status === PcapStatus.BREAK) return "eof";
    throw this.#error(status, "Cannot read a packet");
  }

  /** Packets received and dropped so far (live captures only). */
  stats(): PcapStats {
    const handle = this.#open();
    if (this.#lib.pcap_stats(handle, this.#statsOut) < 0) {
      throw this.#error(PcapStatus.ERROR, "Cannot read capture statistics");
    }
    return {
      received: this.#statsOut[STAT_RECV]!,
      dropped: this.#statsOut[STAT_DROP]!,
      ifDropped: this.#statsOut[STAT_IFDROP]!,
    };
  }

  /** Releases the handle; later calls do nothing. */
  close(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    this.#headerAddress = 0n;
    this.#header = new Uint32Array(PKTHDR_SIZE / 4);
    leakedHandles.unregister(this);
    this.#lib.pcap_close(handle);
  }

  /** Same as `close()`, for `using pcap = Pcap.openOffline(…)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): Deno.PointerObject {
    if (this.#handle === null) {
      throw new Error(`The capture handle for "${this.#source}" is closed`);
    }
    return this.#handle;
  }

  /** A fresh `length`-byte region of the current slab (a new slab when it is full). */
  #take(length: number): Uint8Array {
    if (this.#slabUsed + length > this.#slab.length) {
      this.#slab = new Uint8Array(Math.max(SLAB_SIZE, length));
      this.#slabUsed = 0;
    }
    const region = this.#slab.subarray(this.#slabUsed, this.#slabUsed + length);
    this.#slabUsed += length;
    return region;
  }

  #headerView(): Uint32Array {
    const address = this.#headerOut[0]!;
    if (address !== this.#headerAddress) {
      const pointer = Deno.UnsafePointer.create(address);
      if (pointer === null) throw new Error("libpcap returned a null packet header");
      // A view over libpcap's memory, not a copy: valid while the handle is open.
      this.#header = new Uint32Array(Deno.UnsafePointerView.getArrayBuffer(pointer, PKTHDR_SIZE));
      this.#headerAddress = address;
    }
    return this.#header;
  }

  #check(status: number, action: string): void {
    if (status !== 0) throw this.#error(status, `Cannot ${action} on "${this.#source}"`);
  }

  #error(status: number, what: string): PcapError {
    const detail = this.#handle === null ? "" : pointerText(this.#lib.pcap_geterr(this.#handle));
    const summary = statusText(this.#lib, status);
    const text = status === PcapStatus.ERROR && detail ? detail : summary;
    return new PcapError(`${what}: ${text}`, status, detail || summary);
  }
}

/** Lists the capture interfaces libpcap sees, in its order (up and running ones first). */
export function findAllDevices(): PcapDevice[] {
  const lib = libpcap();
  const listOut = new BigUint64Array(1);
  const errbuf = new Uint8Array(ERRBUF_SIZE);
  if (lib.pcap_findalldevs(listOut, errbuf) < 0) {
    const text = errbufText(errbuf);
    throw new PcapError(`Cannot list capture interfaces: ${text}`, PcapStatus.ERROR, text);
  }
  const list = Deno.UnsafePointer.create(listOut[0]!);
  const devices: PcapDevice[] = [];
  try {
    for (let entry = list; entry !== null;) {
      const view = new Deno.UnsafePointerView(entry);
      const flags = view.getUint32(IF_FLAGS);
      const description = view.getPointer(IF_DESCRIPTION);
      const addresses: SocketAddress[] = [];
      for (let address = view.getPointer(IF_ADDRESSES); address !== null;) {
        const addressView = new Deno.UnsafePointerView(address);
        const parsed = readSocketAddress(addressView.getPointer(ADDR_ADDR));
        if (parsed) addresses.push(parsed);
        address = addressView.getPointer(ADDR_NEXT);
      }
      devices.push({
        name: pointerText(view.getPointer(IF_NAME)),
        description: description === null ? null : pointerText(description),
        flags: {
          up: (flags & IF_FLAG_UP) !== 0,
          running: (flags & IF_FLAG_RUNNING) !== 0,
          loopback: (flags & IF_FLAG_LOOPBACK) !== 0,
        },
        addresses,
      });
      entry = view.getPointer(IF_NEXT);
    }
  } finally {
    if (list !== null) lib.pcap_freealldevs(list);
  }
  return devices;
}

/** libpcap's description of a link type (DLT_ value), e.g. "802.11 plus radiotap header". */
export function linkTypeDescription(dlt: number): string | null {
  const text = libpcap().pcap_datalink_val_to_description(dlt);
  return text === null ? null : pointerText(text);
}

/** libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
export function libVersion(): string {
  return pointerText(libpcap().pcap_lib_version());
}
