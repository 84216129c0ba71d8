/**
 * A tiny pcapng writer, block by block in either byte order, so tests and benchmarks make their
 * own pcapng fixtures (including odd ones: several sections, interfaces, resolutions).
 *
 * @module
 */

import { BufferedFile } from "./buffered_file.ts";

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_PB = 0x00000002;
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** One option: its code and value (padded to 4 bytes when written). */
export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

/** A whole block: type, lengths, `body` padded to 4 bytes, and `options` with opt_endofopt. */
export function block(
  little: boolean,
  type: number,
  body: Uint8Array,
  options: PcapngOption[] = [],
): Uint8Array {
  const optionBytes = options.length === 0
    ? 0
    : options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
  const length = 12 + pad4(body.length) + optionBytes;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, little);
  view.setUint32(4, length, little);
  bytes.set(body, 8);
  let at = 8 + pad4(body.length);
  for (const option of options) {
    view.setUint16(at, option.code, little);
    view.setUint16(at + 2, option.value.length, little);
    bytes.set(option.value, at + 4);
    at += 4 + pad4(option.value.length);
  }
  if (options.length > 0) at += 4; // opt_endofopt: code 0, length 0
  view.setUint32(at, length, little);
  return bytes;
}

/** A Section Header Block, version `major`.`minor` (default 1.0), section length unknown. */
export function sectionHeader(little: boolean, version: [number, number] = [1, 0]): Uint8Array {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  view.setUint32(0, BYTE_ORDER_MAGIC, little);
  view.setUint16(4, version[0], little);
  view.setUint16(6, version[1], little);
  view.setBigInt64(8, -1n, little);
  return block(little, BLOCK_SHB, body);
}

/** How an Interface Description Block describes its interface. */
export interface PcapngInterface {
  linkType: number;
  /** Default 262,144. */
  snaplen?: number;
  /** The raw if_tsresol byte (e.g. 9 for nanoseconds, 0x94 for 2^-20 s); absent = µs. */
  tsresol?: number;
  /** if_tsoffset, seconds. */
  tsoffset?: bigint;
}

/** An Interface Description Block. */
export function interfaceDescription(little: boolean, iface: PcapngInterface): Uint8Array {
  const body = new Uint8Array(8);
  const view = new DataView(body.buffer);
  view.setUint16(0, iface.linkType, little);
  view.setUint32(4, iface.snaplen ?? 262_144, little);
  const options: PcapngOption[] = [{ code: 2, value: new TextEncoder().encode("lo") }];
  if (iface.tsresol !== undefined) {
    options.push({ code: 9, value: new Uint8Array([iface.tsresol]) });
  }
  if (iface.tsoffset !== undefined) {
    const value = new Uint8Array(8);
    new DataView(value.buffer).setBigInt64(0, iface.tsoffset, little);
    options.push({ code: 14, value });
  }
  return block(little, BLOCK_IDB, body, options);
}

/** One packet of an Enhanced (or obsolete) Packet Block. */
export interface PcapngPacket {
  interfaceId?: number;
  /** In the interface's units (microseconds unless its if_tsresol says otherwise). */
  timestamp: bigint;
  data: Uint8Array;
  /** Default `data.length`. */
  wireLength?: number;
  /** A comment option after the data. */
  comment?: string;
}

/** An Enhanced Packet Block. */
export function enhancedPacket(little: boolean, packet: PcapngPacket): Uint8Array {
  return packetBlock(little, BLOCK_EPB, packet);
}

/** The obsolete Packet Block (16-bit interface id and drop count), which libpcap still reads. */
export function obsoletePacket(little: boolean, packet: PcapngPacket): Uint8Array {
  return packetBlock(little, BLOCK_PB, packet);
}

/** A Simple Packet Block (first interface, no time stamp; data cut to its snaplen). */
export function simplePacket(little: boolean, data: Uint8Array, wireLength?: number): Uint8Array {
  const body = new Uint8Array(4 + data.length);
  new DataView(body.buffer).setUint32(0, wireLength ?? data.length, little);
  body.set(data, 4);
  return block(little, BLOCK_SPB, body);
}

function packetBlock(little: boolean, type: number, packet: PcapngPacket): Uint8Array {
  const body = new Uint8Array(20 + packet.data.length);
  const view = new DataView(body.buffer);
  if (type === BLOCK_PB) view.setUint16(0, packet.interfaceId ?? 0, little);
  else view.setUint32(0, packet.interfaceId ?? 0, little);
  view.setUint32(4, Number(packet.timestamp >> 32n), little);
  view.setUint32(8, Number(packet.timestamp & 0xffffffffn), little);
  view.setUint32(12, packet.data.length, little);
  view.setUint32(16, packet.wireLength ?? packet.data.length, little);
  body.set(packet.data, 20);
  const options = packet.comment === undefined
    ? []
    : [{ code: 1, value: new TextEncoder().encode(packet.comment) }];
  return block(little, type, body, options);
}

/** Concatenates blocks into a file's bytes. */
export function encodePcapng(blocks: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(blocks.reduce((sum, b) => sum + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    bytes.set(b, at);
    at += b.length;
  }
  return bytes;
}

/** Streams a one-interface pcapng file (µs stamps) through a 1 MiB buffer. */
export class PcapngWriter implements Disposable {
  readonly #out: BufferedFile;
  readonly #little: boolean;

  /** Creates (or truncates) `path` and writes the section header and one interface. */
  constructor(path: string, linkType: number, little = true) {
    this.#out = new BufferedFile(path);
    this.#little = little;
    this.#out.append(sectionHeader(little));
    this.#out.append(interfaceDescription(little, { linkType }));
  }

  /** Appends one Enhanced Packet Block stamped `tsMs` (milliseconds since the epoch). */
  write(record: { data: Uint8Array; tsMs: number; wireLength?: number }): void {
    // Written in place (not through enhancedPacket()): benchmarks write millions.
    const data = record.data;
    const length = 32 + pad4(data.length);
    const at = this.#out.reserve(length);
    const buffer = this.#out.buffer;
    const view = new DataView(buffer.buffer, at, length);
    const little = this.#little;
    const micros = Math.round(record.tsMs * 1000);
    view.setUint32(0, BLOCK_EPB, little);
    view.setUint32(4, length, little);
    view.setUint32(8, 0, little); // interface 0
    view.setUint32(12, Math.floor(micros / 2 ** 32), little);
    view.setUint32(16, micros % 2 ** 32, little);
    view.setUint32(20, data.length, little);
    view.setUint32(24, record.wireLength ?? data.length, little);
    buffer.set(data, at + 28);
    buffer.fill(0, at + 28 + data.length, at + length - 4);
    view.setUint32(length - 4, length, little);
  }

  /** Flushes and closes the file. */
  close(): void {
    this.#out.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function pad4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
